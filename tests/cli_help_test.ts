import { assert, assertEquals } from "./_assert.ts";
import { COMMANDS } from "../cli/_help.ts";
import { cli, runCli } from "./_cli.ts";

const root = new URL("../", import.meta.url).pathname;

/** The module whose code reads each command's options. */
const SOURCE: Record<string, string> = {
  run: "cli/run.ts",
  replay: "cli/replay.ts",
  explore: "cli/explore.ts",
  "explore merge": "cli/_explore_shard.ts",
  export: "cli/export.ts",
  recover: "cli/recover.ts",
  scenarios: "cli/scenarios.ts",
};

Deno.test("every command's --help lists its options and exits 0", async () => {
  for (const [name, doc] of Object.entries(COMMANDS)) {
    const r = await cli(...name.split(" "), "--help");
    assertEquals(r.code, 0, `${name}: ${r.err}`);
    assertEquals(r.err, "");
    assert(r.out.startsWith(`usage: deno task ${doc.usage}`), r.out);
    for (const opt of Object.keys(doc.options)) assert(r.out.includes(`--${opt}`), `${name} --help lacks --${opt}`);
  }
  const h = await cli("-h");
  assertEquals(h.code, 0);
  for (const name of Object.keys(COMMANDS)) assert(h.out.includes(`  ${name} `), `overview lacks ${name}`);
  assertEquals((await cli("help", "explore", "merge")).out, (await cli("explore", "merge", "-h")).out);
});

Deno.test("no command, an unknown one or help for an unknown one: one line and exit 2", async () => {
  for (const args of [[], ["nope"], ["help", "nope"]]) {
    const r = await cli(...args);
    assertEquals(r.code, 2, args.join(" "));
    assertEquals(r.out, "");
    const lines = r.err.trim().split("\n");
    assertEquals(lines.length, 1, r.err);
    assert(lines[0].startsWith("lockstep: ") && lines[0].includes("run, replay, explore"), r.err);
  }
  // After `--` a "--help" is a file name, not a request for help.
  const r = await cli("replay", "--", "--help");
  assertEquals(r.code, 2);
  assert(r.err.includes("--help: no such file"), r.err);
});

Deno.test("the options declared for help are the ones each command parses and reads, and the README lists them", () => {
  const readme = Deno.readTextFileSync(`${root}README.md`);
  for (const [name, doc] of Object.entries(COMMANDS)) {
    const src = Deno.readTextFileSync(`${root}${SOURCE[name]}`);
    assert(src.includes(`parseOptions(${JSON.stringify(name)})`), `${SOURCE[name]} parses the declared options`);
    assert(!/\bparse\(args, \{/.test(src), `${SOURCE[name]} declares no options of its own`);
    for (const opt of Object.keys(doc.options)) {
      const read = src.includes(`values.${opt}`) || src.includes(`values[${JSON.stringify(opt)}]`);
      assert(read, `${name}: --${opt} is declared but ${SOURCE[name]} never reads it`);
      assert(readme.includes(`--${opt}`), `README.md does not mention ${name} --${opt}`);
    }
  }
});

Deno.test("viewer --help names every option its parser takes", async () => {
  const o = await runCli(["--help"], { entry: `${root}viewer/main.ts`, perms: ["--allow-all"] });
  assertEquals(o.code, 0);
  const out = o.out;
  const src = Deno.readTextFileSync(`${root}viewer/main.ts`);
  const parsed = /options: \{([^}]*\})*[^}]*\}/.exec(src.slice(src.indexOf("parseArgs({")));
  assert(parsed !== null, "viewer/main.ts parses its options with parseArgs");
  const names = [...parsed[0].matchAll(/(\w+): \{ type:/g)].map((m) => m[1]);
  assertEquals(names.sort(), ["dir", "host", "port"]);
  for (const n of names) assert(out.includes(`--${n} `), `viewer --help lacks --${n}`);
});
