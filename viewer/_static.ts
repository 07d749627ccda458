/**
 * The UI's files: index.html and the stylesheet from viewer/static/, and the
 * bundled UI script (viewer/_bundle.ts). Everything is read once at startup
 * and served from memory by exact name, so no request path ever reaches the
 * file system.
 *
 * @module
 */
import { SCHEMA_ELEMENT_ID } from "./ui/api.ts";

/** A file served to the browser. */
export interface Asset {
  readonly body: string;
  readonly type: string;
}

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
};

function typeOf(name: string): string | undefined {
  const dot = name.lastIndexOf(".");
  return dot < 0 ? undefined : TYPES[name.slice(dot)];
}

/**
 * Loads the assets, keyed by URL path: "/" (index.html) and "/static/NAME";
 * {@link setUi} adds the bundled UI. `schema` (the /api/schema answer) goes
 * into index.html as a JSON data block, so the page renders a run at once
 * instead of asking for it first (a data block is not a script: the page's
 * `script-src 'self'` does not apply to it).
 */
export function loadAssets(schema?: unknown): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  const dir = new URL("./static/", import.meta.url);
  for (const entry of Deno.readDirSync(dir)) {
    const type = typeOf(entry.name);
    if (!entry.isFile || !type) continue;
    let body = Deno.readTextFileSync(new URL(entry.name, dir));
    if (entry.name === "index.html" && schema !== undefined) body = withSchema(body, schema);
    assets.set(entry.name === "index.html" ? "/" : `/static/${entry.name}`, { body, type });
  }
  return assets;
}

/** Serves `ui` (the bundled UI script, viewer/_bundle.ts) as "/static/main.js". */
export function setUi(assets: Map<string, Asset>, ui: string): void {
  assets.set("/static/main.js", { body: ui, type: TYPES[".js"] });
}

/** `html` with `schema` as a JSON data block at the end of its head; `<` escaped so no text can close the element. */
function withSchema(html: string, schema: unknown): string {
  const at = html.indexOf("</head>");
  if (at < 0) throw new Error("viewer/static/index.html has no </head>");
  const json = JSON.stringify(schema).replaceAll("<", "\\u003c");
  return `${html.slice(0, at)}  <script type="application/json" id="${SCHEMA_ELEMENT_ID}">${json}</script>\n  ${
    html.slice(at)
  }`;
}
