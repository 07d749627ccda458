import { assert, assertEquals } from "./_assert.ts";
import { tempDir } from "./_tmp.ts";
import { cli } from "./_cli.ts";

const main = new URL("../cli/main.ts", import.meta.url).pathname;
const dir = tempDir("lockstep-cli-");

function oneLineError(err: string): void {
  const lines = err.trim().split("\n");
  assertEquals(lines.length, 1, err);
  assert(lines[0].startsWith("lockstep: "), err);
  assert(!/\bat .*:\d+:\d+/.test(err), `no stack trace: ${err}`);
}

Deno.test("run --json prints one summary object of the documented shape", async () => {
  const r = await cli(
    "run",
    "taskq-demo",
    "--seed",
    "3",
    "--set",
    "sim.durationNs=1000000",
    "--out",
    `${dir}/a.lstrace`,
    "--json",
  );
  assertEquals(r.code, 0, r.err);
  const s = JSON.parse(r.out);
  for (
    const k of [
      "scenario",
      "seed",
      "config",
      "events",
      "simNs",
      "wallMs",
      "eventsPerSec",
      "traceBytes",
      "bytesPerEvent",
      "out",
      "metrics",
      "violations",
    ]
  ) {
    assert(k in s, `missing ${k}`);
  }
  assertEquals(s.seed, 3);
  assertEquals(s.config["sim.durationNs"], 1000000);
  assertEquals(Deno.statSync(`${dir}/a.lstrace`).size, s.traceBytes);
});

Deno.test("run --no-trace runs the same simulation without writing a trace", async () => {
  const cwd = Deno.makeTempDirSync({ dir, prefix: "notrace-" });
  const o = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-write", "--allow-env", main, "run", "taskq-demo", "--no-trace", "--json"],
    env: { NO_COLOR: "1" },
    cwd,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(o.code, 0, new TextDecoder().decode(o.stderr));
  const s = JSON.parse(new TextDecoder().decode(o.stdout));
  assertEquals(s.out, null);
  assertEquals(s.traceBytes, 0);
  const traced = JSON.parse((await cli("run", "taskq-demo", "--out", `${dir}/traced.lstrace`, "--json")).out);
  assertEquals(s.events, traced.events, "recording does not change the run");
  assertEquals([...Deno.readDirSync(cwd)].length, 0, "no file written (no runs/ folder either)");
  const both = await cli("run", "--no-trace", "--out", `${dir}/x.lstrace`);
  assertEquals(both.code, 2);
  oneLineError(both.err);
});

Deno.test("bad input exits 2 with one line and no stack trace", async () => {
  for (
    const args of [
      ["run", "no-such-scenario"],
      ["run", "--bogus"],
      ["run", "taskq-demo", "--set", "no.such.key=1"],
      ["run", "taskq-demo", "--set", "cpus=zero"],
      ["run", "taskq-demo", "--seed", "-4"],
      ["run", "taskq-demo", "--set", "softint.order=clock>net"],
      ["replay", `${dir}/missing.lstrace`],
      ["frobnicate"],
    ]
  ) {
    const r = await cli(...args);
    assertEquals(r.code, 2, `${args.join(" ")}: ${r.err}`);
    oneLineError(r.err);
  }
});

Deno.test("a found violation exits 1; replay of a damaged trace exits 2", async () => {
  const r = await cli("run", "lock-abba", "--out", `${dir}/abba.lstrace`, "--json");
  assertEquals(r.code, 1);
  const kinds = JSON.parse(r.out).violations.map((v: { kind: string }) => v.kind);
  assert(kinds.includes("deadlock") && kinds.includes("lock-order"), kinds.join(","));
  const ok = await cli("run", "taskq-demo", "--set", "sim.durationNs=2000000", "--out", `${dir}/d.lstrace`);
  assertEquals(ok.code, 0);
  const bytes = Deno.readFileSync(`${dir}/d.lstrace`);
  bytes[Math.floor(bytes.length / 2)] ^= 0x40;
  Deno.writeFileSync(`${dir}/d-bad.lstrace`, bytes);
  const bad = await cli("replay", `${dir}/d-bad.lstrace`);
  assertEquals(bad.code, 2, bad.err + bad.out);
  oneLineError(bad.err);
  Deno.writeFileSync(`${dir}/d-short.lstrace`, bytes.subarray(0, 100));
  const short = await cli("replay", `${dir}/d-short.lstrace`);
  assertEquals(short.code, 2);
  oneLineError(short.err);
});

Deno.test("replay --json and --at", async () => {
  await cli("run", "taskq-demo", "--set", "sim.durationNs=1000000", "--out", `${dir}/r.lstrace`);
  const r = await cli("replay", `${dir}/r.lstrace`, "--json");
  assertEquals(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  assertEquals(j.rerun, "identical");
  assertEquals(j.divergence, null);
  const at = await cli("replay", `${dir}/r.lstrace`, "--at", "300", "--json");
  // --at N is the state after event N, as the viewer API's state?at=N: N + 1 events applied.
  assertEquals(JSON.parse(at.out).at, 300);
  assertEquals(JSON.parse(at.out).index, 301);
  const txt = await cli("replay", `${dir}/r.lstrace`, "--at", "300");
  assert(txt.out.includes("cpu0: running"), txt.out);
});

Deno.test("scenarios lists every scenario with its parameters", async () => {
  const r = await cli("scenarios", "--json");
  const j = JSON.parse(r.out);
  assert(j.scenarios.some((s: { name: string }) => s.name === "taskq-demo"), r.out);
  assert("demo.producers" in j.scenarios.find((s: { name: string }) => s.name === "taskq-demo").params);
});

Deno.test("run --sweep with --compare: one table per point; with --json one object with the points' runs", async () => {
  const base = ["run", "splice-udp", "--set", "sim.durationNs=200000", "--set", "relay.flows=2", "--out", dir];
  const j = await cli(
    ...base,
    "--sweep",
    "relay.rateMbps=500,1000",
    "--compare",
    "splice.mode=thread,flowid-taskq",
    "--json",
  );
  assertEquals(j.code, 0, j.err);
  const s = JSON.parse(j.out);
  assertEquals(s.sweep, "relay.rateMbps");
  assertEquals(s.points.map((p: { value: string }) => p.value), ["500", "1000"]);
  for (const p of s.points) {
    assertEquals(p.runs.length, 2);
    assertEquals(p.runs.map((r: { config: Record<string, unknown> }) => r.config["splice.mode"]), [
      "thread",
      "flowid-taskq",
    ]);
    for (const r of p.runs) assertEquals(r.config["relay.rateMbps"], Number(p.value));
  }
  assert(s.points[1].runs[0].metrics.offeredGbps > s.points[0].runs[0].metrics.offeredGbps, "the load moved");
  const t = await cli(...base, "--sweep", "relay.rateMbps=500,1000", "--compare", "splice.mode=thread,flowid-taskq");
  assertEquals(t.code, 0, t.err);
  assertEquals(t.out.split("\n").filter((l) => l.startsWith("splice.mode ")).length, 2, t.out);
  assert(t.out.includes("relay.rateMbps = 1000"), t.out);
  const bad = await cli(...base, "--sweep", "relay.rateMbps=");
  assertEquals(bad.code, 2);
  oneLineError(bad.err);
});
