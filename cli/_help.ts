/**
 * Every command's options, declared once: the parser of each command is
 * handed {@link parseOptions} of its entry, and `help` prints the same
 * entries, so an option cannot exist without its line of help or the other
 * way round (tests/cli_help_test.ts checks both directions through the
 * parser). No imports: `cli/main.ts` loads this before any command.
 * @module
 */

/** One option of a command. */
export interface OptionDoc {
  readonly type: "string" | "boolean";
  /** Repeatable (`--set a=1 --set b=2`). */
  readonly multiple?: true;
  /** The value's placeholder in the help (string options). */
  readonly value?: string;
  /** One line of help. */
  readonly text: string;
}

/** One command: its synopsis, a one-line summary and its options. */
export interface CommandDoc {
  readonly usage: string;
  readonly summary: string;
  readonly options: Readonly<Record<string, OptionDoc>>;
}

const JSON_OPTION: OptionDoc = { type: "boolean", text: "print exactly one JSON object on stdout, the summary" };

/** The commands of `cli/main.ts`, in the order `help` lists them. */
export const COMMANDS: Readonly<Record<string, CommandDoc>> = {
  run: {
    usage: "run [SCENARIO | ./file.ts] [options]",
    summary: "record a scenario into a trace (default: the default scenario into runs/SCENARIO-SEED.lstrace)",
    options: {
      seed: { type: "string", value: "N", text: "the seed (default 1): same seed, same configuration, same trace" },
      set: { type: "string", multiple: true, value: "key=value", text: "override a configuration key (repeatable)" },
      out: { type: "string", value: "FILE", text: "the trace file (with --compare or --sweep: a folder)" },
      compare: {
        type: "string",
        value: "key=v1,v2,...",
        text: "run once per value and print the summaries side by side",
      },
      sweep: {
        type: "string",
        value: "key=v1,v2,...",
        text: "run once per value (with --compare: a comparison per value)",
      },
      "no-trace": { type: "boolean", text: "simulate without writing a trace (to measure the writer's cost)" },
      json: JSON_OPTION,
    },
  },
  replay: {
    usage: "replay FILE... [options]",
    summary: "check each trace's digests, then re-execute it with the current code and compare event by event",
    options: {
      at: { type: "string", value: "N", text: "print the state after event N (events 0..N applied) and stop" },
      "no-rerun": { type: "boolean", text: "only rebuild the state and check the digests" },
      "no-rerun-trace": { type: "boolean", text: "do not save a diverging re-execution as NAME.rerun.lstrace" },
      update: { type: "boolean", text: "re-record each trace from its header (accept an intended change)" },
      junit: { type: "string", value: "REPORT.xml", text: "also write a JUnit XML report, one test case per trace" },
      json: JSON_OPTION,
    },
  },
  explore: {
    usage: "explore SCENARIO | ./file.ts [options]",
    summary: "run many seeds under perturbed schedules, report and shrink what the detectors find",
    options: {
      seeds: { type: "string", value: "N", text: "how many seeds (default 1000)" },
      strategy: { type: "string", value: "random|pct", text: "the schedule perturbation (default random)" },
      jobs: { type: "string", value: "K", text: "worker processes (default: the CPUs, at most 4)" },
      set: { type: "string", multiple: true, value: "key=value", text: "override a configuration key (repeatable)" },
      out: { type: "string", value: "DIR", text: "where failing traces go (default runs/explore)" },
      all: { type: "boolean", text: "keep every failing seed, not only the lowest of each kind" },
      shard: { type: "string", value: "i/n", text: "explore only shard i of n (merge the folders with explore merge)" },
      swarm: { type: "boolean", text: "each seed also draws its own faults and perturbation parameters" },
      json: JSON_OPTION,
    },
  },
  "explore merge": {
    usage: "explore merge DIR... [options]",
    summary: "merge the folders of explore --shard runs into one report",
    options: { json: JSON_OPTION },
  },
  export: {
    usage: "export FILE --format ndjson|chrome|ftrace|pcapng [options]",
    summary: "convert a trace for other tools (Perfetto, trace-cmd, Wireshark)",
    options: {
      format: { type: "string", value: "ndjson|chrome|ftrace|pcapng", text: "the output format" },
      out: { type: "string", value: "FILE", text: "the output file (default: stdout)" },
    },
  },
  recover: {
    usage: "recover FILE [options]",
    summary: "write a valid trace of the whole blocks of a cut-short or damaged one",
    options: {
      out: { type: "string", value: "FILE", text: "the recovered trace (default: NAME.recovered.lstrace)" },
      json: JSON_OPTION,
    },
  },
  scenarios: {
    usage: "scenarios [./file.ts...] [options]",
    summary: "list the scenarios (and the given modules' own) with their configuration keys",
    options: { json: JSON_OPTION },
  },
};

/** The options of `command` as node:util parseArgs takes them. */
export function parseOptions(command: string): Record<string, { type: "string" | "boolean"; multiple?: boolean }> {
  const doc = COMMANDS[command];
  if (doc === undefined) throw new Error(`no such command: ${command}`);
  const out: Record<string, { type: "string" | "boolean"; multiple?: boolean }> = {};
  for (const [name, o] of Object.entries(doc.options)) {
    out[name] = o.multiple ? { type: o.type, multiple: true } : { type: o.type };
  }
  return out;
}

/** True when `args` ask for help (`--help` or `-h` before any `--`). */
export function wantsHelp(args: readonly string[]): boolean {
  for (const a of args) {
    if (a === "--") return false;
    if (a === "--help" || a === "-h") return true;
  }
  return false;
}

/**
 * The help text: every command's synopsis and summary, or one command's
 * synopsis and options. Undefined for an unknown command.
 */
export function helpText(command?: string): string | undefined {
  if (command === undefined) {
    const lines = ["usage: deno task COMMAND [options]   (help for one command: deno task COMMAND --help)", ""];
    for (const [name, doc] of Object.entries(COMMANDS)) lines.push(`  ${name.padEnd(15)}${doc.summary}`);
    lines.push(`  ${"viewer".padEnd(15)}browse recorded runs in a web page (deno task viewer --help)`);
    lines.push("", "Exit status: 0 success, 1 the check found something, 2 bad input (one line on stderr).");
    return lines.join("\n");
  }
  const doc = COMMANDS[command];
  if (doc === undefined) return undefined;
  const lines = [`usage: deno task ${doc.usage}`, "", doc.summary, ""];
  const flags = Object.entries(doc.options).map(([name, o]) => [`--${name}${o.value ? ` ${o.value}` : ""}`, o.text]);
  const width = Math.max("--help, -h".length, ...flags.map(([f]) => f.length)) + 2;
  for (const [f, text] of flags) lines.push(`  ${f.padEnd(width)}${text}`);
  lines.push(`  ${"--help, -h".padEnd(width)}print this help`);
  return lines.join("\n");
}
