// Entry point: a hash router between the run list and a run page.
import { h, render } from "../vendor/preact.mjs";
import { useEffect, useState } from "../vendor/hooks.mjs";
import { api } from "./api.js";
import { RunList } from "./runs.js";
import { RunPage } from "./run.js";

function route() {
  const m = location.hash.match(/^#\/run\/([^/?]+)/);
  return m ? { page: "run", id: decodeURIComponent(m[1]) } : { page: "runs" };
}

function App() {
  const [where, setWhere] = useState(route());
  const [schema, setSchema] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    const on = () => setWhere(route());
    addEventListener("hashchange", on);
    api("/api/schema").then(setSchema, (e) => setError(e.message));
    return () => removeEventListener("hashchange", on);
  }, []);
  if (error) return h("p", { class: "error" }, error);
  if (!schema) return h("p", { class: "muted" }, "Loading schema…");
  return h(
    "div",
    { class: "app" },
    h(
      "header",
      { class: "top" },
      h("a", { href: "#/" }, "lockstep"),
      where.page === "run" ? h("span", null, " / ", where.id) : null,
    ),
    where.page === "run" ? h(RunPage, { id: where.id, schema, key: where.id }) : h(RunList, null),
  );
}

render(h(App, null), document.getElementById("app"));
