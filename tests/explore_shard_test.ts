/**
 * Exploration across machines: shards run as separate processes and merged
 * give the single-process report for the same seed range, traces byte for
 * byte; bad shard arguments and mismatched shards are exit 2; a missing
 * shard is exit 1 naming its seeds.
 */
import { assert, assertEquals } from "./_assert.ts";
import { parseShard } from "../cli/explore.ts";
import { runCli } from "./_cli.ts";

const cli = (args: string[], env: Record<string, string> = {}) => runCli(args, { env });

interface Found {
  seed: number;
  kind: string;
  event: number;
  message: string;
  reproduce: string;
  trace: string | null;
}

Deno.test("explore: three shard processes merged equal one process, traces byte for byte", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "lockstep-shard-" });
  try {
    const args = ["explore", "barrier-netlock", "--seeds", "24", "--all", "--jobs", "1", "--json"];
    const single = await cli([...args, "--out", `${dir}/single`]);
    assertEquals(single.code, 1, single.err);
    // Shards in parallel, as on a cluster; the last one takes its index from a Kubernetes Indexed Job's environment.
    const shards = await Promise.all([
      cli([...args, "--shard", "0/3", "--out", `${dir}/s0`]),
      cli([...args, "--shard", "1/3", "--out", `${dir}/s1`]),
      cli([...args, "--shard", "3", "--out", `${dir}/s2`], { JOB_COMPLETION_INDEX: "2" }),
    ]);
    for (const s of shards) assert(s.code === 0 || s.code === 1, s.err);
    const merged = await cli(["explore", "merge", `${dir}/s2`, `${dir}/s0`, `${dir}/s1`, "--json"]);
    assertEquals(merged.code, 1, merged.err);
    const a = JSON.parse(single.out), b = JSON.parse(merged.out);
    assertEquals(b.runs, 24);
    assertEquals(b.missing, []);
    assertEquals(b.crossRun, a.crossRun);
    const strip = (f: Found) => ({
      seed: f.seed,
      kind: f.kind,
      event: f.event,
      message: f.message,
      reproduce: f.reproduce,
    });
    assert(a.found.length >= 2, "the range has findings to compare");
    assertEquals(b.found.map(strip), a.found.map(strip));
    for (let i = 0; i < a.found.length; i++) {
      assert(a.found[i].trace !== null && b.found[i].trace !== null);
      assertEquals(Deno.readFileSync(b.found[i].trace), Deno.readFileSync(a.found[i].trace), a.found[i].trace);
    }
    // A missing shard: exit 1 and the seeds it would have covered.
    const part = await cli(["explore", "merge", `${dir}/s0`, `${dir}/s2`, "--json"]);
    assertEquals(part.code, 1);
    assertEquals(JSON.parse(part.out).missing, [{ shard: 1, seeds: "2, 5, 8, ... (step 3, up to 24)" }]);
    // Shards of another exploration do not merge.
    const other = await cli(["explore", "lock-abba", "--seeds", "24", "--all", "--shard", "1/3", "--out", `${dir}/o1`]);
    assert(other.code === 0 || other.code === 1, other.err);
    const mixed = await cli(["explore", "merge", `${dir}/s0`, `${dir}/o1`]);
    assertEquals(mixed.code, 2);
    assert(/scenario differs/.test(mixed.err) && mixed.err.trim().split("\n").length === 1, mixed.err);
    const dup = await cli(["explore", "merge", `${dir}/s0`, `${dir}/s0`]);
    assertEquals(dup.code, 2, dup.err);
    const none = await cli(["explore", "merge", `${dir}/nope`]);
    assertEquals(none.code, 2, none.err);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("explore --shard: bad values are usage errors", async () => {
  assertEquals(parseShard("2/5", undefined), { index: 2, count: 5 });
  assertEquals(parseShard("5", "4"), { index: 4, count: 5 });
  for (
    const [text, env] of [
      ["5/5", undefined],
      ["0/0", undefined],
      ["-1/3", undefined],
      ["x", undefined],
      [
        "1/3/4",
        undefined,
      ],
      ["0x1/3", undefined],
      ["3", undefined],
      ["3", "3"],
      ["3", "a"],
    ] as [string, string | undefined][]
  ) {
    let threw = false;
    try {
      parseShard(text, env);
    } catch (e) {
      threw = (e as Error).name === "UsageError" || (e as Error).constructor.name === "UsageError";
    }
    assert(threw, `--shard ${text} (env ${env}) is refused`);
  }
  const r = await cli(["explore", "lock-abba", "--seeds", "4", "--shard", "4/4"]);
  assertEquals(r.code, 2);
  assert(r.err.startsWith("lockstep: --shard"), r.err);
});
