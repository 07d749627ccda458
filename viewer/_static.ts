/**
 * The UI's files: the viewer's own ES modules and stylesheet from
 * viewer/static/, and Preact from the local node_modules (no CDN). Everything
 * is read once at startup and served from memory by exact name, so no request
 * path ever reaches the file system.
 *
 * @module
 */
// Importing Preact here makes Deno install it into node_modules (nodeModulesDir
// "auto"), where the browser copy below is read from.
import "preact";

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

/** Reads one file of Preact's package from node_modules, dropping its source map reference. */
function vendor(rel: string): string {
  const url = new URL(`../node_modules/preact/${rel}`, import.meta.url);
  try {
    return Deno.readTextFileSync(url).replace(/\n?\/\/# sourceMappingURL=.*$/m, "");
  } catch (err) {
    throw new Error(`viewer: cannot read ${url.pathname} (run 'deno install' in the repo): ${(err as Error).message}`);
  }
}

/**
 * Loads the assets, keyed by URL path: "/" (index.html), "/static/NAME" and
 * "/vendor/preact.mjs", "/vendor/hooks.mjs". The hooks module imports the
 * bare name "preact"; it is rewritten to the served path because an import map
 * would need an inline script, which the CSP forbids.
 */
export function loadAssets(): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  const dir = new URL("./static/", import.meta.url);
  for (const entry of Deno.readDirSync(dir)) {
    const type = typeOf(entry.name);
    if (!entry.isFile || !type) continue;
    const body = Deno.readTextFileSync(new URL(entry.name, dir));
    assets.set(entry.name === "index.html" ? "/" : `/static/${entry.name}`, { body, type });
  }
  const js = TYPES[".js"];
  assets.set("/vendor/preact.mjs", { body: vendor("dist/preact.module.js"), type: js });
  const hooks = vendor("hooks/dist/hooks.module.js").replace(/from\s*"preact"/g, 'from"/vendor/preact.mjs"');
  assets.set("/vendor/hooks.mjs", { body: hooks, type: js });
  return assets;
}
