/**
 * The viewer's JSON API through Hono's `app.request()`: listing, run details,
 * paged and filtered events, state, timeline bounds, path traversal and
 * symlink escapes, bad parameters, security headers and the read-only guard.
 */
import { assert, assertEquals } from "./_assert.ts";
import { recordRun } from "../cli/run.ts";
import { createApp } from "../viewer/app.ts";
import { KINDS } from "../core/schema.ts";

type Json = Record<string, unknown>;
type Ev = { index: number; tNs: number; cpu: number; thread: number; kind: string; fields: Record<string, unknown> };

Deno.test("viewer API", async (t) => {
  const dir = Deno.makeTempDirSync({ prefix: "lockstep-viewer-" });
  const outside = Deno.makeTempDirSync({ prefix: "lockstep-outside-" });
  const id = "taskq-demo-1";
  recordRun({ scenario: "taskq-demo", seed: 1, overrides: {}, out: `${dir}/${id}.lstrace` });
  recordRun({ scenario: "taskq-demo", seed: 2, overrides: {}, out: `${outside}/secret.lstrace` });
  const whole = Deno.readFileSync(`${dir}/${id}.lstrace`);
  Deno.writeFileSync(`${dir}/cut.lstrace`, whole.subarray(0, Math.floor(whole.length / 2)));
  Deno.writeFileSync(`${dir}/junk.lstrace`, new TextEncoder().encode("not a trace at all"));
  Deno.symlinkSync(`${outside}/secret.lstrace`, `${dir}/escape.lstrace`);
  Deno.symlinkSync(outside, `${dir}/sub`);
  const app = createApp({ dir });
  const get = async (path: string, init?: RequestInit) => {
    const res = await app.request(path, init);
    const text = await res.text();
    return {
      res,
      status: res.status,
      body: (text && res.headers.get("content-type")?.includes("json") ? JSON.parse(text) : text) as Json,
    };
  };
  try {
    await t.step("lists runs with status; symlinks out of the folder are not listed", async () => {
      const { status, body } = await get("/api/runs");
      assertEquals(status, 200);
      const runs = body.runs as Json[];
      const by = new Map(runs.map((r) => [r.id as string, r]));
      assertEquals([...by.keys()].sort(), ["cut", "junk", id]);
      const run = by.get(id)!;
      assertEquals(run.scenario, "taskq-demo");
      assertEquals(run.seed, 1);
      assertEquals(run.status, "clean");
      assertEquals(run.violations, 0);
      assert((run.events as number) > 1000);
      assertEquals(by.get("cut")!.status, "damaged");
      assertEquals(by.get("junk")!.status, "damaged");
      assert(typeof by.get("junk")!.error === "string");
    });

    await t.step("run detail: header, figures, end reason", async () => {
      const { status, body } = await get(`/api/runs/${id}`);
      assertEquals(status, 200);
      assertEquals((body.header as Json).scenario, "taskq-demo");
      assert(typeof (body.header as Json).config === "object");
      assertEquals(body.endReason, "time-limit");
      assert((body.simNs as number) > 0);
      assert(Array.isArray(body.violations));
      const summary = body.summary as Json;
      assert((summary.contextSwitches as number) > 0);
      assertEquals((summary.cpuBusy as number[]).length, (body.header as Json).cpus);
      const cut = await get("/api/runs/cut");
      assertEquals(cut.status, 200);
      assertEquals(cut.body.status, "damaged");
      assert(typeof cut.body.damage === "string");
      const junk = await get("/api/runs/junk");
      assertEquals(junk.status, 422);
      assert(typeof junk.body.error === "string");
    });

    await t.step("schema comes from core/schema.ts, and index.html carries the same", async () => {
      const { body } = await get("/api/schema");
      assertEquals((body.kinds as Json[]).length, KINDS.length);
      assert((body.categories as string[]).includes("lock"));
      const html = await (await app.request("/")).text();
      const block = html.match(/<script type="application\/json" id="lockstep-schema">(.*?)<\/script>/s);
      assert(block, "a JSON data block in the page");
      assert(!block[1].includes("<"), "no '<' inside it, so no text can close the element early");
      assertEquals(JSON.parse(block[1]), body, "the page's schema is /api/schema's");
    });

    await t.step("events: paging", async () => {
      const a = (await get(`/api/runs/${id}/events?from=0&limit=10`)).body;
      const evs = a.events as Ev[];
      assertEquals(evs.map((e) => e.index), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      assertEquals(a.next, 10);
      const b = (await get(`/api/runs/${id}/events?from=10&limit=5`)).body;
      assertEquals((b.events as Ev[])[0].index, 10);
      const big = (await get(`/api/runs/${id}/events?limit=50000`)).body;
      assertEquals((big.events as Ev[]).length, 1000, "limit is capped");
      const detail = (await get(`/api/runs/${id}`)).body;
      const end = (await get(`/api/runs/${id}/events?from=${(detail.events as number) - 3}&limit=10`)).body;
      assertEquals((end.events as Ev[]).length, 3);
      assertEquals(end.next, null);
      const past = (await get(`/api/runs/${id}/events?from=${detail.events}`)).body;
      assertEquals(past.events, []);
    });

    await t.step("events: decoded with schema names, enum labels, strings", async () => {
      const evs = (await get(`/api/runs/${id}/events?kind=switch,lock-init&limit=50`)).body.events as Ev[];
      const sw = evs.find((e) => e.kind === "switch")!;
      assert(["block", "preempt", "yield", "exit", "quantum", "perturb", "idle"].includes(sw.fields.reason as string));
      const li = evs.find((e) => e.kind === "lock-init")!;
      assert(typeof li.fields.class === "string" && !(li.fields.class as string).startsWith("#"));
    });

    await t.step("events: filters", async () => {
      const kinds = (await get(`/api/runs/${id}/events?kind=switch&limit=200`)).body.events as Ev[];
      assert(kinds.length > 0 && kinds.every((e) => e.kind === "switch"));
      const cpu = (await get(`/api/runs/${id}/events?cpu=1&limit=200`)).body.events as Ev[];
      assert(cpu.length > 0 && cpu.every((e) => e.cpu === 1));
      const cat = (await get(`/api/runs/${id}/events?cat=lock&limit=200`)).body.events as Ev[];
      assert(cat.length > 0 && cat.every((e) => e.kind.startsWith("lock-")));
      const lockId = cat[0].fields.lock as number;
      const lock = (await get(`/api/runs/${id}/events?lock=${lockId}&limit=200`)).body.events as Ev[];
      assert(lock.length > 0 && lock.every((e) => e.fields.lock === lockId || e.fields.obj === lockId));
      const thread = (await get(`/api/runs/${id}/events?thread=2&limit=200`)).body.events as Ev[];
      assert(thread.length > 0);
      assert(thread.every((e) => e.thread === 2 || Object.values(e.fields).includes(2)));
      const both = (await get(`/api/runs/${id}/events?kind=lock-acquire&cpu=2&limit=100`)).body.events as Ev[];
      assert(both.length > 0 && both.every((e) => e.kind === "lock-acquire" && e.cpu === 2));
      const flow = (await get(`/api/runs/${id}/events?flow=12345`)).body;
      assertEquals(flow.events, []);
      const byTime = (await get(`/api/runs/${id}/events?t=1000000&limit=1`)).body.events as Ev[];
      assert(byTime[0].tNs >= 1000000);
      const prev = (await get(`/api/runs/${id}/events?from=${byTime[0].index - 1}&limit=1`)).body.events as Ev[];
      assert(prev[0].tNs < 1000000);
    });

    await t.step("state after an event", async () => {
      const { status, body } = await get(`/api/runs/${id}/state?at=2000`);
      assertEquals(status, 200);
      assertEquals(body.at, 2000);
      assert((body.threads as Json[]).length > 0);
      assert(Array.isArray(body.locks) && Array.isArray(body.cpus) && Array.isArray(body.taskqs));
      for (const bad of ["", "?at=-1", "?at=abc", "?at=99999999", "?at=1.5"]) {
        const r = await get(`/api/runs/${id}/state${bad}`);
        assertEquals(r.status, 400, `state${bad}`);
        assert(typeof r.body.error === "string");
      }
    });

    await t.step("timeline: bounded size, slices inside the window", async () => {
      const detail = (await get(`/api/runs/${id}`)).body;
      for (const px of [1, 20, 300]) {
        const { status, body } = await get(`/api/runs/${id}/timeline?px=${px}`);
        assertEquals(status, 200);
        const cpus = body.cpus as { cpu: number; slices: { t0: number; t1: number; th: number }[] }[];
        assertEquals(cpus.length, (detail.header as Json).cpus);
        for (const c of cpus) assert(c.slices.length <= px, `px=${px}: ${c.slices.length} slices`);
        assert(cpus.some((c) => c.slices.length > 0));
      }
      const win = (await get(`/api/runs/${id}/timeline?t0=1000000&t1=1200000&px=100`)).body;
      const slices = (win.cpus as { slices: { t0: number; t1: number }[] }[]).flatMap((c) => c.slices);
      assert(slices.every((s) => s.t0 >= 1000000 - 1 && s.t1 <= 1200000 + 2000 + 1));
      assert(JSON.stringify(win).length < 200_000);
      for (const bad of ["?px=0", "?px=100000", "?px=abc", "?t0=5&t1=1", "?t0=-1", "?t1=1e9"]) {
        const r = await get(`/api/runs/${id}/timeline${bad}`);
        assertEquals(r.status, 400, `timeline${bad}`);
      }
    });

    await t.step("traversal and escapes are refused with 4xx JSON", async () => {
      const paths = [
        "/api/runs/..",
        "/api/runs/%2e%2e",
        "/api/runs/%2e%2e/events",
        "/api/runs/..%2F..%2Fetc%2Fpasswd",
        "/api/runs/%2Fetc%2Fpasswd",
        "/api/runs//etc/passwd",
        "/api/runs/..%5C..%5Cwindows",
        "/api/runs/a%00b",
        "/api/runs/.hidden",
        "/api/runs/escape",
        "/api/runs/escape/events",
        "/api/runs/sub%2Fsecret",
        "/api/runs/nosuchrun",
        "/static/..%2F..%2Fapp.ts",
        "/static/../app.ts",
      ];
      for (const p of paths) {
        const r = await get(p);
        assert(r.status >= 400 && r.status < 500, `${p} -> ${r.status}`);
        assert(typeof r.body.error === "string", `${p} answers JSON`);
        assert(!JSON.stringify(r.body).includes("secret.lstrace"), `${p} leaks nothing`);
      }
    });

    await t.step("bad parameters -> 400 JSON", async () => {
      for (const q of ["from=-1", "from=x", "limit=0", "kind=nope", "cat=nope", "cpu=a", "thread=x", "from=1&t=5"]) {
        const r = await get(`/api/runs/${id}/events?${q}`);
        assertEquals(r.status, 400, q);
        assert(typeof r.body.error === "string");
      }
    });

    await t.step("security headers on every response; read-only", async () => {
      for (const p of ["/", "/static/main.js", "/vendor/preact.mjs", "/api/runs", "/api/runs/nosuch", "/nope"]) {
        const { res } = await get(p);
        const csp = res.headers.get("content-security-policy") ?? "";
        assert(csp.includes("default-src 'self'"), `${p} has a CSP`);
        assert(!csp.includes("unsafe-inline"), `${p} allows no inline script`);
        assertEquals(res.headers.get("x-content-type-options"), "nosniff");
      }
      const html = (await get("/")).body as unknown as string;
      // A JSON data block (the schema) is not a script; anything else inline would be.
      const inline = /<script(?![^>]*\b(?:src=|type="application\/json"))[^>]*>/;
      assert(!inline.test(html), "index.html has no inline script");
      for (const method of ["POST", "PUT", "DELETE", "PATCH"]) {
        const r = await get(`/api/runs/${id}`, { method });
        assertEquals(r.status, 405, method);
        assertEquals(r.res.headers.get("allow"), "GET, HEAD");
        assert(typeof r.body.error === "string");
      }
      const head = await app.request("/api/runs", { method: "HEAD" });
      assertEquals(head.status, 200);
      assertEquals(await head.text(), "");
    });
  } finally {
    app.close();
    Deno.removeSync(dir, { recursive: true });
    Deno.removeSync(outside, { recursive: true });
  }
});
