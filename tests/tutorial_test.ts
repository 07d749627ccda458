/**
 * docs/writing-scenarios.md, executed: its listings are written to a temporary
 * folder and the commands it shows are run through the CLI, with the outcomes
 * it promises checked (exit statuses, the found bug, the golden-trace
 * workflow). A user's module is exercised exactly as a built-in scenario is.
 */
import { assert, assertEquals } from "./_assert.ts";
import { runCli } from "./_cli.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const cli = (...args: string[]) => runCli(args, { cwd: ROOT });

/** The tutorial's whole-file listings, by the file name on their first line. */
function listings(): Map<string, string> {
  const doc = Deno.readTextFileSync(new URL("../docs/writing-scenarios.md", import.meta.url));
  const out = new Map<string, string>();
  for (const m of doc.matchAll(/```ts\n\/\/ file: (\S+)\n([\s\S]*?)```/g)) out.set(m[1], m[2]);
  return out;
}

function oneLine(err: string): void {
  const lines = err.trim().split("\n");
  assertEquals(lines.length, 1, err);
  assert(lines[0].startsWith("lockstep: "), err);
}

Deno.test("tutorial: every listing runs as the page says", async (t) => {
  const files = listings();
  assertEquals([...files.keys()], ["my_design.ts", "two_locks.ts", "deferred_free.ts"]);
  const dir = Deno.makeTempDirSync({ prefix: "lockstep-tutorial-" });
  try {
    for (const [name, text] of files) Deno.writeTextFileSync(`${dir}/${name}`, text);

    await t.step("1: the smallest scenario records and replays", async () => {
      const r = await cli("run", `${dir}/my_design.ts`, "--out", `${dir}/my.lstrace`, "--json");
      assertEquals(r.code, 0, r.out + r.err);
      assertEquals(JSON.parse(r.out).scenario, "my-design");
      const p = await cli("replay", `${dir}/my.lstrace`, "--json");
      assertEquals(p.code, 0, p.err);
      assertEquals(JSON.parse(p.out).rerun, "identical");
      assertEquals(p.err, "", "an unchanged module is not reported as changed");
    });

    await t.step("2: typed parameters, --set, bad values", async () => {
      const bad = await cli("run", `${dir}/two_locks.ts`, "--out", `${dir}/two.lstrace`);
      assertEquals(bad.code, 1);
      assert(bad.out.includes("lock-order") && bad.out.includes("deadlock"), bad.out);
      const ok = await cli("run", `${dir}/two_locks.ts`, "--set", "two.sameOrder=true", "--out", `${dir}/two.lstrace`);
      assertEquals(ok.code, 0, ok.out + ok.err);
      for (
        const [set, msg] of [
          ["two.holdNs=-1", "two.holdNs: -1 is below 0"],
          ["two.holdNs=abc", "not a decimal integer"],
          ["two.sameOrder=yes", "not true or false"],
          ["two.nope=1", "unknown configuration key 'two.nope'"],
        ]
      ) {
        const r = await cli("run", `${dir}/two_locks.ts`, "--set", set, "--out", `${dir}/x.lstrace`);
        assertEquals(r.code, 2, set);
        oneLine(r.err);
        assert(r.err.includes(msg), r.err);
      }
    });

    await t.step("3-4: the race passes on the default schedule and exploration finds it", async () => {
      const run = await cli("run", `${dir}/deferred_free.ts`, "--out", `${dir}/df.lstrace`);
      assertEquals(run.code, 0, run.out + run.err);
      const ex = await cli("explore", `${dir}/deferred_free.ts`, "--seeds", "300", "--out", `${dir}/explore`, "--json");
      assertEquals(ex.code, 1, ex.err);
      const rep = JSON.parse(ex.out);
      assertEquals(rep.scenario, "deferred-free");
      const uaf = rep.found.find((f: { kind: string }) => f.kind === "use-after-free");
      assert(uaf !== undefined, ex.out);
      assert(/freed by deferq/.test(uaf.message), uaf.message);
      assert(uaf.reproduce.includes("deferred_free.ts"), uaf.reproduce);
      // The saved, shrunk trace reproduces the failure every time.
      const p = await cli("replay", uaf.trace, "--json");
      assertEquals(p.code, 0, p.err);
      const pr = JSON.parse(p.out);
      assertEquals(pr.rerun, "identical");
      assert(pr.violations.some((v: { kind: string }) => v.kind === "use-after-free"));
      const safe = await cli(
        "explore",
        `${dir}/deferred_free.ts`,
        "--seeds",
        "300",
        "--set",
        "defer.order=safe",
        "--out",
        `${dir}/explore-safe`,
      );
      assertEquals(safe.code, 0, safe.out);
    });

    await t.step("5: golden trace, JUnit report, edits and a deleted module", async () => {
      const golden = `${dir}/golden.lstrace`;
      const rec = await cli("run", `${dir}/deferred_free.ts`, "--seed", "2", "--out", golden);
      assertEquals(rec.code, 0);
      const report = `${dir}/report.xml`;
      const same = await cli("replay", "--junit", report, golden);
      assertEquals(same.code, 0, same.err);
      let xml = Deno.readTextFileSync(report);
      assert(xml.includes('tests="1" failures="0"'), xml);

      const path = `${dir}/deferred_free.ts`;
      const src = Deno.readTextFileSync(path);
      Deno.writeTextFileSync(path, src + "\n// a comment changes the file, not the behaviour\n");
      const comment = await cli("replay", golden);
      assertEquals(comment.code, 0, comment.out + comment.err);
      oneLine(comment.err);
      assert(/changed since the recording/.test(comment.err), comment.err);

      Deno.writeTextFileSync(path, src.replace("yield m.spend(500);", "yield m.spend(700);"));
      const changed = await cli("replay", "--junit", report, golden, "--json");
      assertEquals(changed.code, 1, changed.out + changed.err);
      const d = JSON.parse(changed.out);
      assertEquals(d.rerun, "diverged");
      assert(d.divergence.event > 0);
      xml = Deno.readTextFileSync(report);
      assert(xml.includes('failures="1"') && xml.includes(`first divergence at event ${d.divergence.event}`), xml);
      // The re-execution is saved beside the trace: the current code's run, which replays identically.
      const rerunFile = `${dir}/golden.rerun.lstrace`;
      assertEquals(d.rerunTrace, rerunFile);
      const again = await cli("replay", rerunFile, "--json", "--no-rerun-trace");
      assertEquals(again.code, 0, again.out + again.err);
      assertEquals(JSON.parse(again.out).rerun, "identical");
      const text = await cli("replay", golden);
      assertEquals(text.code, 1);
      assert(text.out.includes(`re-execution saved: ${rerunFile}`), text.out);
      assert(text.out.includes("#/compare?a=golden&b=golden.rerun"), text.out);
      // A glob over the folder gives both files: the saved re-execution is not replayed as a baseline.
      const both = await cli("replay", "--json", "--no-rerun-trace", golden, rerunFile);
      assertEquals(both.code, 1);
      assertEquals(JSON.parse(both.out).file, golden, "one result, the recorded trace's");
      assert(both.err.includes(`${rerunFile}: skipped, the saved re-execution of ${golden}`), both.err);
      Deno.removeSync(rerunFile);
      const unsaved = await cli("replay", golden, "--no-rerun-trace", "--json");
      assertEquals(unsaved.code, 1);
      assertEquals(JSON.parse(unsaved.out).rerunTrace, undefined);
      let left = true;
      try {
        Deno.statSync(rerunFile);
      } catch {
        left = false;
      }
      assert(!left, "--no-rerun-trace saves nothing");

      Deno.removeSync(path);
      const gone = await cli("replay", golden);
      assertEquals(gone.code, 2);
      oneLine(gone.err);
      assert(gone.err.includes("scenario module not found") && gone.err.includes("deferred_free.ts"), gone.err);
      // Without re-execution the module is not needed.
      const norerun = await cli("replay", "--no-rerun", golden);
      assertEquals(norerun.code, 0, norerun.err);
    });
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
