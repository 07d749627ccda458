import { assert, assertEquals } from "./_assert.ts";
import { tempDir } from "./_tmp.ts";

const main = new URL("../cli/main.ts", import.meta.url).pathname;
const dir = tempDir("lockstep-cli-");

async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const o = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-write", "--allow-env", main, ...args],
    env: { NO_COLOR: "1", RUST_BACKTRACE: "0" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: o.code, out: new TextDecoder().decode(o.stdout), err: new TextDecoder().decode(o.stderr) };
}

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
