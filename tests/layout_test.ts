/**
 * The plan of the house, checked: no import cycles anywhere (type-only
 * imports included: a cycle of types is still two files that must change
 * together), and every import between top-level folders goes in the
 * documented direction (README "Architecture").
 */
import { assert, assertEquals } from "./_assert.ts";
import { dirname, join, normalize, relative } from "node:path";

const ROOT = normalize(join(dirname(new URL(import.meta.url).pathname), ".."));
const SKIP_DIRS = new Set([".git", "node_modules", "runs", "golden", "artifacts", "vendor", ".ci"]);

/** Folder -> folders it may import from (itself always allowed). Files at the root are "mod.ts". */
export const ALLOWED: Record<string, readonly string[]> = {
  core: [],
  format: ["core"],
  recorder: ["core", "format"],
  replay: ["core", "format"],
  export: ["core", "format", "replay"],
  drivers: ["core"],
  viewer: ["replay"],
  "mod.ts": ["core", "format", "recorder", "replay", "export", "drivers"],
  cli: ["core", "format", "recorder", "replay", "export", "drivers", "viewer"],
  tools: ["core", "format", "recorder", "replay", "export", "drivers", "cli", "viewer"],
};

function sourceFiles(dir = ROOT, out: string[] = []): string[] {
  for (const e of Deno.readDirSync(dir)) {
    if (SKIP_DIRS.has(e.name)) continue;
    const p = join(dir, e.name);
    if (e.isDirectory) sourceFiles(p, out);
    else if (/\.(ts|tsx)$/.test(e.name)) out.push(relative(ROOT, p));
  }
  return out.sort();
}

const IMPORT_RE =
  /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s*["'](\.{1,2}\/[^"']+)["']|import\(\s*["'](\.{1,2}\/[^"']+)["']\s*\)/g;

/** Relative imports of every source file outside tests/, as repo-relative paths. */
export function importGraph(): Map<string, string[]> {
  const g = new Map<string, string[]>();
  for (const f of sourceFiles()) {
    if (f.startsWith("tests/")) continue;
    // Code inside doc comments (examples) is not an import of the module.
    const text = Deno.readTextFileSync(join(ROOT, f)).replace(/\/\*[\s\S]*?\*\//g, "");
    const deps: string[] = [];
    for (const m of text.matchAll(IMPORT_RE)) {
      const spec = m[1] ?? m[2];
      deps.push(normalize(join(dirname(f), spec)));
    }
    g.set(f, deps);
  }
  return g;
}

/** Strongly connected components with more than one file (or a self-import): the cycles. */
export function cycles(g: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>(), low = new Map<string, number>(), on = new Set<string>();
  const stack: string[] = [], out: string[][] = [];
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    on.add(v);
    for (const w of g.get(v) ?? []) {
      if (!g.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (g.get(v) ?? []).includes(v)) out.push(scc.sort());
    }
  };
  for (const v of g.keys()) if (!index.has(v)) visit(v);
  return out;
}

function folderOf(f: string): string {
  return f.includes("/") ? f.slice(0, f.indexOf("/")) : f;
}

Deno.test("layout: no import cycles", () => {
  const found = cycles(importGraph());
  assertEquals(found, [], `import cycles: ${found.map((c) => c.join(" <-> ")).join("; ")}`);
});

Deno.test("layout: imports between folders follow the documented direction", () => {
  const bad: string[] = [];
  for (const [f, deps] of importGraph()) {
    const from = folderOf(f);
    const allowed = ALLOWED[from];
    if (allowed === undefined) {
      bad.push(`${f}: folder '${from}' is not in the plan`);
      continue;
    }
    for (const d of deps) {
      const to = folderOf(d);
      if (to !== from && !allowed.includes(to)) bad.push(`${f} imports ${d}`);
    }
  }
  assertEquals(bad, []);
});

Deno.test("layout: the checker sees cycles and wrong-way imports", () => {
  const g = new Map([["a.ts", ["b.ts"]], ["b.ts", ["c.ts"]], ["c.ts", ["a.ts"]], ["d.ts", ["a.ts"]]]);
  assertEquals(cycles(g), [["a.ts", "b.ts", "c.ts"]]);
  assertEquals(cycles(new Map([["a.ts", ["b.ts"]], ["b.ts", []]])), []);
  // The real graph has edges, so an empty result above means something.
  const real = importGraph();
  assert(real.size > 50 && [...real.values()].some((d) => d.length > 3), "the import graph was read");
  assert(real.get("replay/rerun.ts")!.includes("core/run.ts"), "imports are resolved to repo paths");
});
