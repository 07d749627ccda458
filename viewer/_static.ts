/**
 * The UI's files: index.html and the stylesheet from viewer/static/, and the
 * bundled UI script (viewer/_bundle.ts). Everything is read once at startup
 * and served from memory by exact name, so no request path ever reaches the
 * file system.
 *
 * @module
 */

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
 * Loads the assets, keyed by URL path: "/" (index.html), "/static/NAME", and
 * "/static/main.js" (the bundled UI) when `ui` is given.
 */
export function loadAssets(ui?: string): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  const dir = new URL("./static/", import.meta.url);
  for (const entry of Deno.readDirSync(dir)) {
    const type = typeOf(entry.name);
    if (!entry.isFile || !type) continue;
    const body = Deno.readTextFileSync(new URL(entry.name, dir));
    assets.set(entry.name === "index.html" ? "/" : `/static/${entry.name}`, { body, type });
  }
  if (ui !== undefined) assets.set("/static/main.js", { body: ui, type: TYPES[".js"] });
  return assets;
}
