/**
 * `deno task golden`: (re)records the golden traces under tests/golden/, one
 * short run per scenario (and per splice mode where a scenario has modes).
 * `deno task test` replays every one of them; after an intended behaviour
 * change, re-record with this or with `deno task replay --update FILE`.
 * `deno task golden NAME...` re-records only the scenarios named.
 * @module
 */
import { recordRun } from "../cli/run.ts";
import { SCENARIOS } from "../drivers/mod.ts";

/**
 * Scenarios recorded once per variant (a key and its values) with settings
 * that let a 400 us run finish its workload: the NetBSD infrastructure rows
 * (docs/netbsd-infrastructure.md), one golden trace per side of each table.
 */
const VARIANTS: Record<string, { key: string; values: string[]; set: Record<string, string> }> = {
  "pcq-ifqueue": { key: "pcq.impl", values: ["pcq", "ifqueue", "afifo", "aqueue"], set: { "pcq.items": "8" } },
  "atomic-lifo": { key: "aq.impl", values: ["tailq", "lifo-gen", "lifo"], set: { "aq.rounds": "40" } },
  "route-lookup": { key: "route.impl", values: ["ptree", "radix"], set: { "route.lookups": "200" } },
  "rx-livelock": { key: "lv.mode", values: ["intr", "moderation", "poll"], set: {} },
  "syn-flood": {
    key: "syn.mode",
    values: ["syncache", "nocache"],
    set: { "syn.legitPerSec": "20000", "syn.rttNs": "100000", "syn.backlog": "4" },
  },
  branes: { key: "br.mode", values: ["branes", "global"], set: {} },
  "nexthop-cache": {
    key: "nh.mode",
    values: ["cloned", "nhcache", "lltable"],
    set: {
      "nh.routes": "200",
      "nh.neighbours": "50",
      "nh.active": "20",
      "nh.packets": "300",
      "nh.gapNs": "1000",
      "nh.keepUs": "100",
      "nh.pruneUs": "25",
      "clock.hz": "100000",
    },
  },
  "rx-demux": { key: "dm.mode", values: ["full", "demux-wq", "demux-lazy"], set: { "dm.ratePps": "200000" } },
  "kcont-dispatch": {
    key: "kc.impl",
    values: ["separate", "kcont"],
    set: { "clock.hz": "10000", "kc.periodNs": "200000" },
  },
  // Two short netperf runs (connection, close, pause, connection) with a tick that fires within them.
  "linux-netperf": {
    key: "linux.splice",
    values: ["off", "on"],
    set: {
      "netperf.runs": "2",
      "netperf.lengthNs": "120000",
      "netperf.warmupNs": "20000",
      "netperf.pauseNsMax": "20000",
      "linux.tickHz": "20000",
    },
  },
};

/** Golden runs: scenario, file stem and overrides kept short. */
export function goldenRuns(): { scenario: string; stem: string; overrides: Record<string, string> }[] {
  const runs: { scenario: string; stem: string; overrides: Record<string, string> }[] = [];
  for (const s of SCENARIOS) {
    const short: Record<string, string> = { "sim.durationNs": "400000", "checkpoint.every": "1024" };
    // One run per variant (VARIANTS), or per mode of the scenario's variant key: OpenBSD's splice.mode,
    // Linux's linux.splice.
    const key = ["splice.mode", "linux.splice"].find((k) => s.params[k]?.choices !== undefined);
    const modes = key === undefined ? undefined : s.params[key].choices;
    const variants = VARIANTS[s.name];
    if (variants) {
      for (const v of variants.values) {
        runs.push({
          scenario: s.name,
          stem: `${s.name}-${v}`,
          overrides: { ...short, ...variants.set, [variants.key]: v },
        });
      }
    } else if (key !== undefined && modes) {
      for (const m of modes) {
        runs.push({ scenario: s.name, stem: `${s.name}-${m}`, overrides: { ...short, [key]: m } });
      }
    } else runs.push({ scenario: s.name, stem: s.name, overrides: short });
  }
  return runs;
}

if (import.meta.main) {
  Deno.mkdirSync("tests/golden", { recursive: true });
  const only = Deno.args;
  for (const g of goldenRuns().filter((r) => only.length === 0 || only.includes(r.scenario))) {
    const out = `tests/golden/${g.stem}.lstrace`;
    const s = recordRun({ scenario: g.scenario, seed: 1, overrides: g.overrides, out });
    console.log(`${out}: ${s.events} events, ${s.traceBytes} bytes, ${s.violations.length} violations`);
  }
}
