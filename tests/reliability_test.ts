/**
 * Nothing the user does loses data or gets a stack trace: outputs are
 * written whole or not at all, an output can never be an input, bad paths
 * and damaged traces are exit 2 with one line, a cut recording can be
 * recovered, numbers parse strictly (issue 17).
 */
import { assert, assertEquals } from "./_assert.ts";
import { tempDir } from "./_tmp.ts";
import { EventRecord } from "../core/event.ts";
import { ConfigError, MACHINE_KEYS, resolveConfig } from "../core/config.ts";
import { KIND } from "../core/schema.ts";
import { TraceWriter } from "../recorder/mod.ts";
import { checkTrace, stateAt, TraceError, TraceReader } from "../replay/mod.ts";
import { recordRun } from "../cli/run.ts";
import { classify } from "../cli/main.ts";
import { parse, UsageError } from "../cli/_args.ts";
import { salvageTrace } from "../cli/recover.ts";
import { runCli } from "./_cli.ts";

const main = new URL("../cli/main.ts", import.meta.url).pathname;
const dir = tempDir("lockstep-reliability-");
const SHORT = { "sim.durationNs": "2000000" };

const cli = (...args: string[]) => runCli(args, { cwd: dir });
const cliWith = (perms: string[], ...args: string[]) => runCli(args, { cwd: dir, perms });

function exit2(r: { code: number; err: string }, pattern: RegExp): void {
  assertEquals(r.code, 2, r.err);
  const lines = r.err.trim().split("\n");
  assertEquals(lines.length, 1, r.err);
  assert(lines[0].startsWith("lockstep: ") && pattern.test(lines[0]), r.err);
}

function trace(name: string, overrides: Record<string, string> = SHORT): string {
  const path = `${dir}/${name}`;
  recordRun({ scenario: "taskq-demo", seed: 1, overrides, out: path });
  return path;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

Deno.test("export --out naming its own input is refused and the input is untouched", async () => {
  const t = trace("self.lstrace");
  const before = Deno.readFileSync(t);
  exit2(await cli("export", t, "--format", "ndjson", "--out", t), /is the input/);
  exit2(await cli("recover", t, "--out", t), /is the input/);
  assert(sameBytes(Deno.readFileSync(t), before), "input unchanged");
});

Deno.test("empty or directory --out values are refused before anything is written", async () => {
  const t = trace("out.lstrace");
  Deno.mkdirSync(`${dir}/adir`, { recursive: true });
  exit2(await cli("run", "taskq-demo", "--out", ""), /--out is empty/);
  exit2(await cli("run", "taskq-demo", "--out", `${dir}/adir`), /is a directory/);
  exit2(await cli("run", "taskq-demo", "--out", `${t}/child.lstrace`), /is not a folder/);
  exit2(await cli("run", "taskq-demo", "--compare", "cpus=1,2", "--out", ""), /--out is empty/);
  exit2(await cli("explore", "lock-abba", "--seeds", "1", "--out", ""), /--out is empty/);
  exit2(await cli("explore", "lock-abba", "--seeds", "1", "--out", t), /not a folder/);
  exit2(await cli("export", t, "--format", "chrome", "--out", `${dir}/adir`), /is a directory/);
  // Nothing landed in the working folder (an empty --out once meant "/" or ".").
  assertEquals([...Deno.readDirSync(dir)].filter((e) => e.name.startsWith("taskq-demo")).length, 0);
});

Deno.test("export of a damaged trace leaves no partial output, and an existing output keeps its content", async () => {
  const t = trace("dmg.lstrace");
  const bytes = Deno.readFileSync(t);
  const cut = `${dir}/dmg-cut.lstrace`;
  Deno.writeFileSync(cut, bytes.subarray(0, bytes.length - 100));
  exit2(await cli("export", cut, "--format", "ndjson", "--out", `${dir}/dmg.ndjson`), /truncated/);
  assert(!existsSync(`${dir}/dmg.ndjson`), "no partial file");
  Deno.writeTextFileSync(`${dir}/keep.json`, "old\n");
  exit2(await cli("export", cut, "--format", "chrome", "--out", `${dir}/keep.json`), /truncated/);
  assertEquals(Deno.readTextFileSync(`${dir}/keep.json`), "old\n");
  assertEquals([...Deno.readDirSync(dir)].filter((e) => e.name.endsWith(".tmp")).length, 0, "temp files removed");
});

Deno.test("replay --update refuses a trace whose scenario is unknown and leaves it byte for byte", async () => {
  const path = `${dir}/unknown-scenario.lstrace`;
  const w = TraceWriter.create(path, {
    tool: "t",
    scenario: "no-such-scenario",
    seed: 1,
    cpus: 1,
    config: {},
    inputs: [],
  });
  w.close();
  const t = trace("upd.lstrace");
  const before = [Deno.readFileSync(path), Deno.readFileSync(t)];
  // The good trace comes first: nothing is re-recorded before every header was checked.
  exit2(await cli("replay", "--update", t, path), /unknown scenario 'no-such-scenario'/);
  assert(sameBytes(Deno.readFileSync(path), before[0]));
  assert(sameBytes(Deno.readFileSync(t), before[1]), "the valid trace listed first was not re-recorded either");
});

Deno.test("replay --update whose re-recording fails leaves the old trace whole", async () => {
  // A header configuration the current scenario refuses (a value out of its range). A key missing from an older
  // trace is not a failure: it takes its default with a notice (tests/scenario_api_test.ts).
  const t = trace("old.lstrace");
  const r = TraceReader.open(t);
  const { formatVersion: _, ...h } = r.header;
  r.close();
  const config = { ...h.config, "demo.producers": 0 };
  const old = `${dir}/old-bad-value.lstrace`;
  const w = TraceWriter.create(old, { ...h, config });
  w.close();
  const before = Deno.readFileSync(old);
  const u = await cli("replay", "--update", old);
  assert(u.code !== 0, "refused or failed");
  assert(sameBytes(Deno.readFileSync(old), before), "untouched");
  assertEquals([...Deno.readDirSync(dir)].filter((e) => e.name.endsWith(".tmp")).length, 0, "temp files removed");
});

Deno.test("directories, FIFOs and missing files as input are exit 2 without hanging", async () => {
  Deno.mkdirSync(`${dir}/tracedir`, { recursive: true });
  exit2(await cli("replay", `${dir}/tracedir`), /is a directory/);
  exit2(await cli("export", `${dir}/tracedir`, "--format", "ndjson"), /is a directory/);
  exit2(await cli("replay", `${dir}/missing.lstrace`), /no such file/);
  const fifo = `${dir}/fifo`;
  const mk = await new Deno.Command("mkfifo", { args: [fifo] }).output();
  assert(mk.success, "mkfifo");
  // Without the check, opening the FIFO blocks until a writer comes: the test would time out.
  exit2(await cli("replay", fifo), /not a regular file/);
  exit2(await cli("recover", fifo), /not a regular file/);
});

Deno.test("a full disk is exit 2 with one line; a closed pipe ends quietly", async () => {
  const t = trace("pipe.lstrace");
  // /dev/full fails every write with ENOSPC (Deno wants --allow-all for a device).
  exit2(await cliWith(["--allow-all"], "export", t, "--format", "ndjson", "--out", "/dev/full"), /No space left/);
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-env", main, "export", t, "--format", "ndjson"],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const reader = child.stdout.getReader();
  await reader.read(); // like `| head -1`: read a little, then go away
  await reader.cancel();
  const err = await new Response(child.stderr).text();
  const st = await child.status;
  assertEquals(err, "", "no message for a closed pipe");
  assertEquals(st.code, 0);
});

Deno.test("exit status classes: input problems 2, closed output quiet, anything else a bug", () => {
  assertEquals(classify(new UsageError("x")), "input");
  assertEquals(classify(new ConfigError("x")), "input");
  assertEquals(classify(new TraceError("corrupt", "x")), "input");
  assertEquals(classify(new Deno.errors.PermissionDenied("x")), "input");
  assertEquals(
    classify(Object.assign(new Error("No space left on device (os error 28)"), { code: "ENOSPC" })),
    "input",
  );
  assertEquals(classify(new Deno.errors.BrokenPipe("x")), "closed-output");
  assertEquals(classify(new TypeError("x is undefined")), "bug");
  assertEquals(classify(new Deno.errors.BadResource("closed")), "bug");
  assertEquals(classify(new RangeError("below(NaN)")), "bug");
});

/** A trace that passes every checksum but names a thread that was never created (event 2 of block 0). */
function checksummedButWrong(path: string): void {
  const w = TraceWriter.create(path, { tool: "t", scenario: "taskq-demo", seed: 1, cpus: 1, config: {}, inputs: [] });
  const e = new EventRecord();
  const put = (kind: number, fields: number[], thread = 0) => {
    e.kind = kind;
    e.thread = thread;
    e.fields.fill(0);
    fields.forEach((v, j) => (e.fields[j] = v));
    w.onEvent(e);
    e.index++;
  };
  put(KIND.strDef, [1]);
  put(KIND.threadCreate, [1, 1, 0, -1, 0, 0]);
  put(KIND.block, [5, 0, 0], 20); // thread 20 blocks: there is no thread 20
  w.close();
}

Deno.test("a checksummed trace the state cannot apply is a TraceError naming event and block (exit 2)", async () => {
  const path = `${dir}/wrong-thread.lstrace`;
  checksummedButWrong(path);
  let err: unknown;
  try {
    checkTrace(path);
  } catch (e) {
    err = e;
  }
  assert(err instanceof TraceError, String(err));
  assertEquals((err as TraceError).code, "corrupt");
  assertEquals((err as TraceError).block, 0);
  assert(/event 2\b.*unknown thread 20/.test((err as Error).message), (err as Error).message);
  assert(
    String((() => {
      try {
        stateAt(path, 3);
      } catch (e) {
        return e instanceof TraceError && e.block === 0;
      }
      return false;
    })()) === "true",
    "stateAt too",
  );
  const r = await cli("replay", "--no-rerun", path);
  exit2(r, /event 2.*unknown thread 20.*block 0/);
  assert(!r.err.includes("recover"), "recover would copy the same events: not suggested");
});

Deno.test("recover: a cut recording becomes a sealed trace that replays; replay of the cut names recover", async () => {
  // Long enough for several blocks (256 KiB of raw payload each) before the cut.
  const t = trace("long.lstrace", { "sim.durationNs": "300000000" });
  const bytes = Deno.readFileSync(t);
  const cut = `${dir}/long-cut.lstrace`;
  Deno.writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length * 0.7)));
  const rr = await cli("replay", cut);
  exit2(rr, /truncated.*deno task recover FILE/);
  const probe = TraceReader.open(cut, { recover: true });
  const whole = probe.scan();
  probe.close();
  assert(whole > 1000, `whole events ${whole}`);
  const r = await cli("recover", cut, "--json");
  assertEquals(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  assertEquals(j.events, whole);
  assertEquals(j.out, `${dir}/long-cut.recovered.lstrace`);
  const fixed = TraceReader.open(j.out);
  assert(fixed.hasFooter, "sealed with a footer");
  assertEquals(fixed.eventCount, whole);
  fixed.close();
  const rp = await cli("replay", "--no-rerun", j.out);
  assertEquals(rp.code, 0, rp.err);
  const ex = await cli("export", j.out, "--format", "ndjson", "--out", `${dir}/rec.ndjson`);
  assertEquals(ex.code, 0, ex.err);
  // A whole trace: nothing to do, nothing written.
  assertEquals(salvageTrace(t, `${dir}/never.lstrace`).out, null);
  assert(!existsSync(`${dir}/never.lstrace`));
});

Deno.test("configuration numbers are decimal integers only", () => {
  for (const bad of ["0x2", "1e0", " 4", "4 ", "1_0", "", "+4", "4.0", "0b10", "Infinity"]) {
    let err: unknown;
    try {
      resolveConfig([MACHINE_KEYS], { cpus: bad });
    } catch (e) {
      err = e;
    }
    assert(err instanceof ConfigError && /not a decimal integer/.test(err.message), `'${bad}': ${err}`);
  }
  assertEquals(resolveConfig([MACHINE_KEYS], { cpus: "2" }).cpus, 2);
  assertEquals(resolveConfig([MACHINE_KEYS], { cpus: "007" }).cpus, 7);
});

Deno.test("a negative --seed is named as such, not 'ambiguous'", async () => {
  let err: unknown;
  try {
    parse(["--seed", "-1"], { seed: { type: "string" } });
  } catch (e) {
    err = e;
  }
  assert(err instanceof UsageError && /--seed wants a non-negative integer, got '-1'/.test(err.message), String(err));
  exit2(await cli("run", "taskq-demo", "--seed", "-3"), /--seed wants a non-negative integer, got '-3'/);
  exit2(await cli("run", "taskq-demo", "--seed=-3"), /--seed wants a non-negative integer, got '-3'/);
});

Deno.test("--at N is the state after event N; past the last event is exit 2", async () => {
  const t = trace("at.lstrace");
  const r = TraceReader.open(t);
  const n = r.eventCount!;
  r.close();
  const last = await cli("replay", t, "--at", String(n - 1), "--json");
  assertEquals(last.code, 0, last.err);
  assertEquals(JSON.parse(last.out).index, n);
  exit2(await cli("replay", t, "--at", String(n)), /past the last event/);
});

function existsSync(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}
