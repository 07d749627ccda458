/**
 * Scenarios: named workloads with parameters and defaults. A scenario's
 * parameters are configuration keys like the machine's, so `--set` and
 * `--compare` treat them alike, and the trace header records them resolved.
 *
 * {@link defineScenario} is the one documented way to write one (built in or
 * in a user's own module, docs/writing-scenarios.md): it checks the
 * declaration once and hands `setup` its parameters already typed.
 *
 * @example
 * ```ts
 * import { defineScenario } from "./scenario.ts";
 * export default defineScenario({
 *   name: "two-spinners",
 *   doc: "two threads share one spin mutex",
 *   params: { "spin.holdNs": { default: 500, min: 0, max: 1_000_000, doc: "time held" } },
 *   setup(m, p) {
 *     const mtx = m.newLock("spin_mtx", "spin");
 *     for (const name of ["a", "b"]) {
 *       m.spawn(name, function* () {
 *         yield m.lock(mtx);
 *         yield m.spend(p["spin.holdNs"]); // a number, typed from the default
 *         m.unlock(mtx);
 *       });
 *     }
 *   },
 * });
 * ```
 * @module
 */
import {
  checkValue,
  type Config,
  ConfigError,
  type ConfigValue,
  COST_KEYS,
  type KeyDef,
  type KeySet,
  MACHINE_KEYS,
} from "./config.ts";
import type { Machine } from "./machine.ts";

/** Figures a scenario reports at the end of a run. */
export type Metrics = Record<string, number | string | Record<string, number>>;

/** What setup returns: hooks called when the run has ended. */
export interface ScenarioHooks {
  /** Figures for the summary. */
  metrics?(): Metrics;
  /** End-of-run checks (for example byte conservation); report through m.violation. */
  finish?(): void;
}

/** A named workload. */
export interface Scenario {
  /** Name given to `--scenario`. */
  readonly name: string;
  /** One-line description (shown by `deno task scenarios`). */
  readonly doc: string;
  /** Scenario parameters (keys namespaced by the scenario, e.g. `demo.producers`). */
  readonly params: KeySet;
  /** Machine key defaults this scenario changes (e.g. a short duration). */
  readonly machineDefaults?: Readonly<Record<string, ConfigValue>>;
  /** Builds the workload on a fresh machine before it runs. */
  setup(m: Machine, cfg: Config): ScenarioHooks;
}

/** The declared parameters of a scenario: key -> declaration. */
export type ParamDecls = Readonly<Record<string, KeyDef>>;

/** The value type a declaration's default gives a parameter. */
export type ParamValue<D extends KeyDef> = D["default"] extends number ? number
  : D["default"] extends boolean ? boolean
  : string;

/** The resolved parameters handed to setup, each typed from its declaration's default. */
export type ParamValues<P extends ParamDecls> = { readonly [K in keyof P]: ParamValue<P[K]> };

/** What {@link defineScenario} takes. */
export interface ScenarioSpec<P extends ParamDecls> {
  /** Name: lower case letters, digits and '-', starting with a letter (at most 64). */
  readonly name: string;
  /** One line for `deno task scenarios`. */
  readonly doc: string;
  /**
   * Parameters, settable with `--set key=value` and compared with `--compare`.
   * Keys are namespaced (`mine.threads`); a number default makes an integer
   * parameter (`min`/`max` bound it), a boolean a boolean, a string a string
   * (`choices` lists the allowed ones).
   */
  readonly params?: P;
  /**
   * Machine keys this scenario defaults differently (`cpus`, `sim.durationNs`, `softint.order`, ...),
   * and cost entries (`cost.ctxSwitch`, ...) when the modelled kernel's figure differs.
   */
  readonly machine?: Readonly<Record<string, ConfigValue>>;
  /**
   * Builds the workload on a fresh machine, every detector already installed.
   * `p` holds the resolved parameters, `cfg` the whole configuration. Return
   * hooks for end-of-run metrics and checks, or nothing.
   */
  setup(m: Machine, p: ParamValues<P>, cfg: Config): ScenarioHooks | void;
}

const NAME_RE = /^[a-z][a-z0-9-]{0,63}$/;
const PARAM_RE = /^[a-z][A-Za-z0-9]*(\.[A-Za-z0-9]+)+$/;

/**
 * Declares a scenario. The declaration is checked here, once: a bad name, a
 * parameter key that is not namespaced or shadows a machine or cost key, or
 * a default outside its own range throws ConfigError (the CLI prints it as
 * one line, exit 2).
 */
export function defineScenario<const P extends ParamDecls = Record<never, KeyDef>>(spec: ScenarioSpec<P>): Scenario {
  if (typeof spec !== "object" || spec === null) throw new ConfigError("defineScenario: expected an object");
  const name = spec.name;
  if (typeof name !== "string" || !NAME_RE.test(name)) {
    throw new ConfigError(`scenario name ${JSON.stringify(name)}: use a-z, 0-9 and '-', starting with a letter`);
  }
  if (typeof spec.doc !== "string" || spec.doc.trim() === "") throw new ConfigError(`scenario ${name}: doc is empty`);
  if (typeof spec.setup !== "function") throw new ConfigError(`scenario ${name}: setup must be a function`);
  const params: KeySet = { ...(spec.params ?? {}) };
  for (const [k, def] of Object.entries(params)) {
    if (!PARAM_RE.test(k)) {
      throw new ConfigError(
        `scenario ${name}: parameter '${k}' must be namespaced (e.g. '${name.split("-")[0]}.${k}')`,
      );
    }
    if (k in MACHINE_KEYS || k.startsWith("cost.")) {
      throw new ConfigError(`scenario ${name}: parameter '${k}' shadows a machine key`);
    }
    if (typeof def !== "object" || def === null) {
      throw new ConfigError(`scenario ${name}: parameter '${k}' needs a declaration`);
    }
    if (typeof def.doc !== "string") throw new ConfigError(`scenario ${name}: parameter '${k}' needs a doc line`);
    const t = typeof def.default;
    if (t !== "number" && t !== "string" && t !== "boolean") {
      throw new ConfigError(`scenario ${name}: parameter '${k}' default must be a number, string or boolean`);
    }
    checkValue(k, def, def.default);
  }
  const machineDefaults: Record<string, ConfigValue> = {};
  for (const [k, v] of Object.entries(spec.machine ?? {})) {
    const def = MACHINE_KEYS[k] ?? COST_KEYS[k];
    if (def === undefined) throw new ConfigError(`scenario ${name}: '${k}' is not a machine key`);
    machineDefaults[k] = checkValue(k, def, v);
  }
  const keys = Object.keys(params);
  const setup = spec.setup;
  return {
    name,
    doc: spec.doc,
    params,
    machineDefaults,
    setup(m: Machine, cfg: Config): ScenarioHooks {
      const p: Record<string, ConfigValue> = {};
      for (const k of keys) p[k] = cfg[k];
      return setup(m, Object.freeze(p) as ParamValues<P>, cfg) ?? {};
    },
  };
}

/** True when `x` has the shape of a {@link Scenario} (for checking what a user's module exports). */
export function isScenario(x: unknown): x is Scenario {
  if (typeof x !== "object" || x === null) return false;
  const s = x as Record<string, unknown>;
  return typeof s.name === "string" && typeof s.doc === "string" && typeof s.setup === "function" &&
    typeof s.params === "object" && s.params !== null;
}
