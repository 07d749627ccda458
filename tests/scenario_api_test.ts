/**
 * The scenario API: defineScenario's checks and typed parameters, and
 * configuration validated wherever it enters (API object, trace header).
 */
import { assert, assertEquals, assertThrows } from "./_assert.ts";
import { ConfigError, MACHINE_KEYS } from "../core/config.ts";
import { checkScenarioConfig, execute } from "../core/run.ts";
import { defineScenario } from "../core/scenario.ts";
import { findScenario } from "../drivers/mod.ts";
import { TraceWriter } from "../recorder/writer.ts";
import { checkTrace } from "../replay/mod.ts";
import { TOOL } from "../core/version.ts";

const spinner = defineScenario({
  name: "api-spinner",
  doc: "threads share a spin mutex",
  params: {
    "api.threads": { default: 2, min: 1, max: 8, doc: "threads" },
    "api.kind": { default: "spin", choices: ["spin", "adaptive"], doc: "mutex type" },
    "api.sleepy": { default: false, doc: "yield between rounds" },
  },
  machine: { cpus: 2, "sim.durationNs": 200_000 },
  setup(m, p) {
    // Typed: these would not compile with the wrong types.
    const n: number = p["api.threads"];
    const kind: string = p["api.kind"];
    const sleepy: boolean = p["api.sleepy"];
    const mtx = m.newLock("api_mtx", kind === "spin" ? "spin" : "adaptive");
    let rounds = 0;
    for (let i = 0; i < n; i++) {
      m.spawn(`t${i}`, function* () {
        for (let k = 0; k < 5; k++) {
          yield m.lock(mtx);
          yield m.spend(1000);
          m.unlock(mtx);
          rounds++;
          if (sleepy) yield m.yieldCpu();
        }
      });
    }
    return { metrics: () => ({ rounds }) };
  },
});

Deno.test("defineScenario: parameters reach setup typed, machine defaults apply", () => {
  const out = execute(spinner, { seed: 1, overrides: { "api.threads": "3" } });
  assertEquals(out.metrics.rounds, 15);
  assertEquals(out.config.cpus, 2);
  assertEquals(out.config["api.kind"], "spin");
  assertEquals(out.result.violations, []);
});

Deno.test("defineScenario: a bad declaration is refused with a ConfigError naming it", () => {
  const base = { name: "x", doc: "d", setup() {} };
  const bad: [Record<string, unknown>, RegExp][] = [
    [{ name: "Bad Name" }, /scenario name/],
    [{ name: "" }, /scenario name/],
    [{ doc: "" }, /doc is empty/],
    [{ params: { threads: { default: 1, doc: "" } } }, /must be namespaced/],
    [{ params: { "cpus": { default: 1, doc: "" } } }, /must be namespaced|shadows/],
    [{ params: { "cost.x": { default: 1, doc: "" } } }, /shadows a machine key/],
    [{ params: { "x.n": { default: 5, min: 10, doc: "" } } }, /x\.n: 5 is below 10/],
    [{ params: { "x.n": { default: 1.5, doc: "" } } }, /not an integer/],
    [{ params: { "x.k": { default: "c", choices: ["a", "b"], doc: "" } } }, /not one of a, b/],
    [{ machine: { nope: 1 } }, /'nope' is not a machine key/],
    [{ machine: { cpus: 0 } }, /cpus: 0 is below 1/],
    [{ setup: 5 }, /setup must be a function/],
  ];
  for (const [patch, re] of bad) {
    // deno-lint-ignore no-explicit-any
    assertThrows(() => defineScenario({ ...base, ...patch } as any), re);
    try {
      // deno-lint-ignore no-explicit-any
      defineScenario({ ...base, ...patch } as any);
    } catch (e) {
      assert(e instanceof ConfigError, `${JSON.stringify(patch)} throws a ConfigError`);
    }
  }
});

Deno.test("a configuration object is checked where it enters: API and header", () => {
  const full = checkScenarioConfig(spinner, {}).config;
  assertEquals(full["api.threads"], 2);
  assertEquals(full.cpus, 2, "the scenario's machine default, not the machine's");
  assert(checkScenarioConfig(spinner, {}).defaulted.includes("api.threads"));
  for (
    const [cfg, re] of [
      [{ ...full, nope: 1 }, /unknown configuration key 'nope'/],
      [{ ...full, cpus: 0 }, /cpus: 0 is below 1/],
      [{ ...full, cpus: "4" }, /cpus: "4" is not a number/],
      [{ ...full, "api.threads": 2.5 }, /not an integer/],
      [{ ...full, "api.kind": "ticket" }, /not one of spin, adaptive/],
      [{ ...full, "softint.order": "net>clock" }, /softint.order/],
      [{ ...full, "cost.ipi": -1 }, /cost.ipi: -1 is below 0/],
    ] as [Record<string, unknown>, RegExp][]
  ) {
    assertThrows(() => execute(spinner, { seed: 1, config: cfg }), re);
  }
  assertThrows(() => execute(spinner, { seed: -1 }), /seed/);
  assertThrows(() => execute(spinner, { seed: 1.5 }), /seed/);
  // A partial object takes the defaults of the missing keys.
  assertEquals(execute(spinner, { seed: 1, config: { "api.threads": 1 } }).metrics.rounds, 5);
});

Deno.test("a frozen configuration is checked once per scenario, and a bad one still throws every time", () => {
  const full = Object.freeze({ ...checkScenarioConfig(spinner, {}).config });
  const a = execute(spinner, { seed: 1, config: full });
  const b = execute(spinner, { seed: 2, config: full });
  assert(Object.isFrozen(a.config), "the remembered check is frozen: no run can change the next one's");
  assert(a.config === b.config, "the second run reuses the first run's check");
  assertEquals(a.config, checkScenarioConfig(spinner, full).config, "the same config as a fresh check, key order too");
  assertEquals(Object.keys(a.config), Object.keys(checkScenarioConfig(spinner, full).config));
  // Another scenario given the same object checks it against its own keys (spinner's api.* are unknown there).
  assertThrows(() => execute(findScenario("taskq-demo"), { seed: 1, config: full }), /unknown configuration key/);
  const bad = Object.freeze({ ...full, cpus: 0 });
  for (let i = 0; i < 2; i++) assertThrows(() => execute(spinner, { seed: 1, config: bad }), /cpus: 0 is below 1/);
  // An unfrozen object is checked on every run (it may have changed since).
  const open: Record<string, unknown> = { ...full };
  execute(spinner, { seed: 1, config: open });
  open.cpus = 0;
  assertThrows(() => execute(spinner, { seed: 1, config: open }), /cpus: 0 is below 1/);
});

Deno.test("replay state: a run that never touches some CPUs still digests every CPU", () => {
  const one = defineScenario({
    name: "one-thread",
    doc: "one thread on four CPUs",
    machine: { cpus: 4 },
    setup(m) {
      m.spawn("worker", function* () {
        yield m.spend(10_000);
      });
    },
  });
  const dir = Deno.makeTempDirSync({ prefix: "lockstep-api-" });
  try {
    const path = `${dir}/one.lstrace`;
    const config = checkScenarioConfig(one, {}).config;
    const w = TraceWriter.create(path, { tool: TOOL, scenario: one.name, seed: 1, cpus: 4, config, inputs: [] });
    execute(one, { seed: 1, config, sinks: [w] });
    w.close();
    const c = checkTrace(path);
    assertEquals(c.mismatch, null, "the rebuilt state has four CPUs, as the machine");
    assert(c.digestsChecked >= 1);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("built-in scenarios are declared within their own ranges", () => {
  // Every built-in's defaults pass the same checks a user's declaration gets.
  const s = findScenario("taskq-demo");
  const { config, defaulted } = checkScenarioConfig(s, {});
  assertEquals(defaulted.length, Object.keys(config).length);
  for (const k of Object.keys(MACHINE_KEYS)) assert(k in config);
});

Deno.test("replay refuses a header configuration with an unknown key, defaults a missing one with a notice", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "lockstep-api-" });
  const main = new URL("../cli/main.ts", import.meta.url).pathname;
  const cli = async (...args: string[]) => {
    const o = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-read", "--allow-write", "--allow-env", main, ...args],
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    return { code: o.code, err: new TextDecoder().decode(o.stderr) };
  };
  try {
    const s = findScenario("lock-abba");
    const config = checkScenarioConfig(s, {}).config;
    const write = (path: string, headerConfig: Record<string, string | number | boolean>) => {
      const w = TraceWriter.create(path, {
        tool: TOOL,
        scenario: s.name,
        seed: 1,
        cpus: Number(config.cpus),
        config: headerConfig,
        inputs: [],
      });
      execute(s, { seed: 1, config, sinks: [w] });
      w.close();
    };
    write(`${dir}/extra.lstrace`, { ...config, "abba.bogus": 1 });
    const extra = await cli("replay", `${dir}/extra.lstrace`);
    assertEquals(extra.code, 2, extra.err);
    assertEquals(extra.err.trim(), "lockstep: unknown configuration key 'abba.bogus'");
    const before = Deno.readFileSync(`${dir}/extra.lstrace`);
    assertEquals((await cli("replay", "--update", `${dir}/extra.lstrace`)).code, 2);
    assertEquals(Deno.readFileSync(`${dir}/extra.lstrace`), before, "--update refused before touching the file");

    const older = { ...config };
    delete older["sched.pctDepth"]; // as if the trace predates the key
    write(`${dir}/older.lstrace`, older);
    const old = await cli("replay", `${dir}/older.lstrace`);
    assertEquals(old.code, 0, old.err);
    assert(/predates configuration keys sched\.pctDepth; they take their defaults/.test(old.err), old.err);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
