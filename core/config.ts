/**
 * Configuration keys. Variants are configuration keys (`softint.order`,
 * `taskq.barrier`, `splice.mode`, ...). Machine keys are declared here;
 * scenarios declare their own parameters the same way. A run's header
 * carries the fully resolved configuration, cost entries included.
 *
 * @example
 * ```ts
 * import { MACHINE_KEYS, resolveConfig } from "./config.ts";
 * const cfg = resolveConfig([MACHINE_KEYS], { "cpus": "4" });
 * cfg["cpus"]; // 4
 * ```
 * @module
 */
import { type CostName, COSTS, type Costs } from "./cost.ts";

/** A resolved configuration value. */
export type ConfigValue = string | number | boolean;
/** A fully resolved configuration. */
export type Config = Record<string, ConfigValue>;

/** Declaration of one key. */
export interface KeyDef {
  /** Value used when the key is not set. */
  readonly default: ConfigValue;
  /** One-line description (shown by the CLI). */
  readonly doc: string;
  /** For strings: allowed values (omit for free text checked by `check`). */
  readonly choices?: readonly string[];
  /** For numbers: smallest allowed value. */
  readonly min?: number;
  /** For numbers: largest allowed value. */
  readonly max?: number;
  /** Extra validation; returns an error message or null. */
  readonly check?: (v: ConfigValue) => string | null;
}

/** A set of keys. */
export type KeySet = Record<string, KeyDef>;

/** Thrown for bad configuration input (the CLI maps it to exit status 2). */
export class ConfigError extends Error {
  /** Shown as the error name in messages. */
  override name = "ConfigError";
}

/** Softint level names, lowest to highest in NetBSD's order (reference section 4). */
export const SOFTINT_LEVELS = ["clock", "bio", "net", "serial"] as const;

/** Machine keys. */
export const MACHINE_KEYS: KeySet = {
  cpus: { default: 4, doc: "number of CPUs", min: 1, max: 64 },
  "sim.durationNs": { default: 20_000_000, doc: "simulated time limit in ns", min: 1, max: 1e15 },
  "sim.eventsMax": { default: 50_000_000, doc: "event limit", min: 1, max: 1e10 },
  "softint.order": {
    default: "serial>net>bio>clock",
    doc: "soft interrupt priority order, highest first; '=' makes levels equal (e.g. clock>net=serial>bio)",
    check: (v) => parseSoftintOrder(String(v)) === null ? "must order clock, bio, net, serial with > or =" : null,
  },
  "taskq.barrier": {
    default: "1.36",
    doc: "taskq_barrier implementation: kern_task.c 1.36 or the older 1.27 (hangs from its own worker)",
    choices: ["1.36", "1.27"],
  },
  "sched.strategy": {
    default: "none",
    doc: "schedule perturbation: none, random (stalls at yield points), pct (d-1 demotions)",
    choices: ["none", "random", "pct"],
  },
  "sched.perturbPpm": { default: 2000, doc: "random strategy: chance per yield point, per million", min: 0, max: 1e6 },
  "sched.stallNs": { default: 2000, doc: "length unit of a perturbation stall", min: 0, max: 1e9 },
  "sched.pctDepth": { default: 3, doc: "pct strategy: bug depth d (d-1 change points)", min: 1, max: 64 },
  "sched.pctSteps": {
    default: 20000,
    doc: "pct strategy: change points are drawn among this many steps",
    min: 1,
    max: 1e9,
  },
  "sched.quantumNs": { default: 100_000, doc: "round-robin quantum among equal priorities", min: 1000, max: 1e12 },
  "sched.kpreempt": {
    default: "on",
    doc: "kernel preemption of kernel threads: on (NetBSD, Linux PREEMPT: the quantum and higher priorities " +
      "preempt) or off (OpenBSD: the quantum only sets SPCF_SHOULDYIELD; they switch at sleep, yield, sched_pause)",
    choices: ["on", "off"],
  },
  "checkpoint.every": { default: 65536, doc: "events between state checkpoints", min: 16, max: 1e9 },
  "clock.hz": { default: 100, doc: "hardclock frequency; timeouts fire on tick boundaries", min: 1, max: 100000 },
  "detect.starvationNs": {
    default: 50_000_000,
    doc: "a softint level or timeout waiting longer than this is reported",
    min: 1000,
    max: 1e15,
  },
};

/** Cost keys, `cost.<name>`, generated from the cost table. */
export const COST_KEYS: KeySet = Object.fromEntries(
  Object.entries(COSTS).map(([k, e]) => [`cost.${k}`, { default: e.ns, doc: e.doc, min: 0, max: 1e12 }]),
);

/**
 * Parses `softint.order` into a rank per level (index as in SOFTINT_LEVELS;
 * larger rank = higher priority), or null when malformed.
 */
export function parseSoftintOrder(s: string): number[] | null {
  const groups = s.split(">").map((g) => g.split("=").map((x) => x.trim()));
  const rank: number[] = [-1, -1, -1, -1];
  let r = groups.length;
  for (const g of groups) {
    r--;
    for (const name of g) {
      const i = (SOFTINT_LEVELS as readonly string[]).indexOf(name);
      if (i < 0 || rank[i] !== -1) return null;
      rank[i] = r;
    }
  }
  return rank.every((x) => x >= 0) ? rank : null;
}

/** Resolves `overrides` (text from --set) against the key sets; throws ConfigError. */
export function resolveConfig(sets: KeySet[], overrides: Record<string, string>, base: Config = {}): Config {
  const keys: KeySet = Object.assign({}, ...sets);
  const out: Config = {};
  for (const [k, def] of Object.entries(keys)) out[k] = k in base ? base[k] : def.default;
  for (const [k, text] of Object.entries(overrides)) {
    const def = keys[k];
    if (!def) throw new ConfigError(`unknown configuration key '${k}'`);
    out[k] = parseValue(k, def, text);
  }
  return out;
}

/** An optional minus sign and decimal digits, nothing else. */
const DECIMAL_INTEGER = /^-?[0-9]+$/;

function parseValue(key: string, def: KeyDef, text: string): ConfigValue {
  let v: ConfigValue;
  if (typeof def.default === "number") {
    // Decimal digits only: Number() would also take "0x2", "1e3", " 4" and "" (as 0).
    const n = DECIMAL_INTEGER.test(text) ? Number(text) : NaN;
    if (!Number.isSafeInteger(n)) throw new ConfigError(`${key}: '${text}' is not a decimal integer`);
    if (def.min !== undefined && n < def.min) throw new ConfigError(`${key}: ${n} is below ${def.min}`);
    if (def.max !== undefined && n > def.max) throw new ConfigError(`${key}: ${n} is above ${def.max}`);
    v = n;
  } else if (typeof def.default === "boolean") {
    if (text !== "true" && text !== "false") throw new ConfigError(`${key}: '${text}' is not true or false`);
    v = text === "true";
  } else {
    if (def.choices && !def.choices.includes(text)) {
      throw new ConfigError(`${key}: '${text}' is not one of ${def.choices.join(", ")}`);
    }
    v = text;
  }
  const err = def.check?.(v);
  if (err) throw new ConfigError(`${key}: ${err}`);
  return v;
}

/**
 * Checks one resolved value against its declaration (type, integer, range,
 * choices, `check`); throws ConfigError naming the key. Used wherever a value
 * enters other than as `--set` text: an API object, a trace header, a
 * scenario's own defaults.
 */
export function checkValue(key: string, def: KeyDef, v: unknown): ConfigValue {
  if (typeof v !== typeof def.default) {
    throw new ConfigError(`${key}: ${JSON.stringify(v)} is not a ${typeof def.default}`);
  }
  if (typeof v === "number") {
    if (!Number.isSafeInteger(v)) throw new ConfigError(`${key}: ${v} is not an integer`);
    if (def.min !== undefined && v < def.min) throw new ConfigError(`${key}: ${v} is below ${def.min}`);
    if (def.max !== undefined && v > def.max) throw new ConfigError(`${key}: ${v} is above ${def.max}`);
  } else if (typeof v === "string" && def.choices && !def.choices.includes(v)) {
    throw new ConfigError(`${key}: '${v}' is not one of ${def.choices.join(", ")}`);
  }
  const err = def.check?.(v as ConfigValue);
  if (err) throw new ConfigError(`${key}: ${err}`);
  return v as ConfigValue;
}

/** A configuration checked by {@link checkConfig}. */
export interface CheckedConfig {
  /** Every key of the sets, valid; missing keys hold their defaults. */
  readonly config: Config;
  /** Keys that were missing and were given their default (an older trace, a partial API object). */
  readonly defaulted: readonly string[];
}

/**
 * Checks a configuration object (from an API caller or a trace header)
 * against the key sets: an unknown key or a bad value throws ConfigError
 * naming the key; a missing key takes its default (from `base`, else the
 * declaration) and is listed in `defaulted`, so the caller can say so.
 */
export function checkConfig(sets: KeySet[], cfg: Readonly<Record<string, unknown>>, base: Config = {}): CheckedConfig {
  const keys: KeySet = Object.assign({}, ...sets);
  for (const k of Object.keys(cfg)) if (!(k in keys)) throw new ConfigError(`unknown configuration key '${k}'`);
  const config: Config = {};
  const defaulted: string[] = [];
  for (const [k, def] of Object.entries(keys)) {
    if (k in cfg) config[k] = checkValue(k, def, cfg[k]);
    else {
      config[k] = k in base ? base[k] : def.default;
      defaulted.push(k);
    }
  }
  return { config, defaulted };
}

/** Extracts the costs from a resolved configuration. */
export function costsOf(cfg: Config): Costs {
  const out = {} as Costs;
  for (const k of Object.keys(COSTS) as CostName[]) out[k] = Number(cfg[`cost.${k}`] ?? COSTS[k].ns);
  return out;
}
