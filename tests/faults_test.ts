/**
 * Fault injection (drivers/faults.ts) and swarm exploration: each fault
 * reaches its error path and is recorded; the relay survives its faults
 * (no violation, every dropped byte accounted); a faulted run replays
 * identically; a swarm finding shrinks to the faults it needs.
 * @module
 */
import { assert, assertEquals, assertThrows } from "./_assert.ts";
import { recordRun } from "../cli/run.ts";
import { explore, type ExploreOptions, type Finding, parseExploreArgs } from "../cli/explore.ts";
import { mergeShards } from "../cli/_explore_shard.ts";
import { swarmChoice, swarmConfig } from "../cli/_explore_swarm.ts";
import { findScenario, resolveScenarioConfig, runScenario } from "../drivers/mod.ts";
import { relayOf } from "../drivers/splice_scenarios.ts";
import { FAULT_KEYS, FAULT_SWITCHES } from "../drivers/faults.ts";
import { MGET_SITE } from "../core/net/stack.ts";
import { ENUMS, FAULT, KIND } from "../core/schema.ts";
import { checkTrace, replayFile } from "../replay/mod.ts";
import type { TraceHeader } from "../format/format.ts";
import type { Machine } from "../core/machine.ts";

const dir = Deno.makeTempDirSync({ prefix: "lockstep-faults-" });

/** Runs a scenario with `overrides`, counting fault events (by fault, and mbuf-fail by site) and drops by reason. */
function faulted(scenario: string, overrides: Record<string, string>, seed = 3) {
  const faults = new Array(ENUMS.fault.length).fill(0);
  const sites = [0, 0, 0];
  const drops: Record<string, number> = {};
  let m: Machine | null = null;
  const out = runScenario({
    scenario,
    seed,
    overrides: { "sim.durationNs": "2000000", ...overrides },
    onSetup: (mm: Machine) => void (m = mm),
    sinks: [{
      onEvent(e) {
        if (e.kind === KIND.fault) {
          faults[e.fields[0]]++;
          if (e.fields[0] === FAULT.mbufFail) sites[e.fields[1]]++;
        } else if (e.kind === KIND.pktDrop) {
          const r = ENUMS.dropReason[e.fields[3]];
          drops[r] = (drops[r] ?? 0) + 1;
        }
      },
    }],
  });
  return { out, faults, sites, drops, m: m as unknown as Machine };
}

function noViolations(r: ReturnType<typeof faulted>, what: string): void {
  assertEquals(r.out.result.violations.map((v) => `${v.kind}: ${v.message}`), [], what);
}

Deno.test("mbuf allocation failure: the driver drops the frame, tcp_output returns ENOBUFS, recorded", () => {
  const r = faulted("splice-tcp", { "fault.mbufFailPpm": "50000", "net.tcpRtoNs": "100000" });
  assert(r.sites[MGET_SITE.nicRx] > 0, "driver rx refill failed");
  assert(r.sites[MGET_SITE.tcpOutput] > 0, "tcp_output's MGETHDR failed");
  assertEquals(r.drops["mbuf-fail"], r.sites[MGET_SITE.nicRx], "each driver failure drops its frame");
  noViolations(r, "TCP relay under mbuf failures");
  const u = faulted("splice-udp", { "fault.mbufFailPpm": "50000" });
  assert((u.drops["mbuf-fail"] ?? 0) > 0);
  const w = relayOf(u.m)!;
  assert((w.st.acct.dropsByReason.mbufFail ?? 0) > 0, "counted in the stack's drop accounting");
  noViolations(u, "UDP relay under mbuf failures: conservation counts the dropped bytes");
});

Deno.test("rx ring overflow, link loss and link flap drop frames, each recorded and accounted", () => {
  for (const sc of ["splice-udp", "splice-tcp"]) {
    const ring = faulted(sc, { "fault.rxRingPpm": "50000" });
    assertEquals(ring.drops["rx-ring"], ring.faults[FAULT.rxRing], `${sc}: one rx-ring drop per injection`);
    assert(ring.faults[FAULT.rxRing] > 0);
    noViolations(ring, `${sc} rx-ring`);
    const loss = faulted(sc, { "fault.linkLossPpm": "50000" });
    // A lost frame is recorded when it leaves and dropped when it would have arrived: those lost in the last wire
    // delay of the run are still on the wire at the end (and counted in flight by conservation).
    const lost = loss.faults[FAULT.linkLoss], dropped = loss.drops["lossy-link"] ?? 0;
    assert(lost > 20 && dropped <= lost && dropped >= lost - 3, `${sc}: ${lost} lost, ${dropped} dropped`);
    noViolations(loss, `${sc} link loss`);
    const flap = faulted(sc, { "fault.linkFlapAtNs": "500000", "fault.linkFlapNs": "200000" });
    assertEquals([flap.faults[FAULT.linkUp], flap.faults[FAULT.linkDown] > 1], [1, true], `${sc} flap`);
    assert((flap.drops["link-down"] ?? 0) > 0, `${sc}: frames lost while down`);
    noViolations(flap, `${sc} flap`);
  }
});

Deno.test("duplicated and reordered frames reach tcp_input, the UDP sockets and the sinks, which cope", () => {
  const dup = faulted("splice-tcp", { "fault.linkDupPpm": "100000" });
  assert(dup.faults[FAULT.linkDup] > 0);
  noViolations(dup, "duplicates");
  const ro = faulted("splice-tcp", { "fault.linkReorderPpm": "100000", "net.tcpRtoNs": "100000" });
  assert(ro.faults[FAULT.linkReorder] > 0);
  const w = relayOf(ro.m)!;
  const ooo = (ro.drops["out-of-order"] ?? 0) + w.flows.reduce((a, f) => a + (f.tsink?.outOfOrder ?? 0), 0);
  assert(ooo > 0, "a reordered segment arrived out of order somewhere");
  noViolations(ro, "reordering");
  // UDP datagrams too (tests/faults_udp_test.ts: the detector excuses them only by their decisions).
  const u = faulted("splice-udp", { "fault.linkDupPpm": "100000", "fault.linkReorderPpm": "100000" });
  assert(u.faults[FAULT.linkDup] > 0 && u.faults[FAULT.linkReorder] > 0);
  noViolations(u, "UDP duplicates and reordering");
});

Deno.test("delayed interrupts, a slow CPU and lowered socket buffers take effect and are recorded", () => {
  const base = faulted("splice-udp", {});
  const late = faulted("splice-udp", { "fault.intrDelayPpm": "300000", "fault.intrDelayNs": "100000" });
  assert(late.faults[FAULT.intrDelay] > 0);
  noViolations(late, "late interrupts");
  assert(relayOf(late.m)!.st.spliceLat.quantile(99) !== relayOf(base.m)!.st.spliceLat.quantile(99));
  // A light load (CPUs mostly idle): the same work takes cpu0 longer while it is slow.
  const light = { "relay.rateMbps": "200" };
  const calm = faulted("splice-udp", light);
  const slow = faulted("splice-udp", {
    ...light,
    "fault.cpuSlowAtNs": "200000",
    "fault.cpuSlowNs": "1000000",
    "fault.cpuSlowX": "8",
  });
  assertEquals([slow.faults[FAULT.cpuSlow], slow.faults[FAULT.cpuNormal]], [1, 1]);
  assertEquals(slow.m.cpus[0].costX, 1, "the slow window ended");
  assert(slow.m.cpus[0].busyNs > 2 * calm.m.cpus[0].busyNs, `${slow.m.cpus[0].busyNs} vs ${calm.m.cpus[0].busyNs}`);
  noViolations(slow, "slow CPU");
  for (const sc of ["splice-udp", "splice-tcp"]) {
    const sb = faulted(sc, { "fault.sbLimitAtNs": "300000", "fault.sbLimitBytes": "3000" });
    const w = relayOf(sb.m)!;
    assertEquals(sb.faults[FAULT.sbLimit], w.st.sockets.length, `${sc}: one event per socket`);
    assert(w.st.sockets.every((so) => so.rcv.hiwat === 3000 && so.snd.hiwat === 3000));
    if (sc === "splice-udp") assert((sb.drops["sb-full"] ?? 0) > 0, "datagrams no longer fit so_rcv");
    noViolations(sb, `${sc} lowered buffers`);
  }
});

Deno.test("faults off: no injector, no fault event, same run as before the keys existed", () => {
  const r = faulted("splice-udp", {});
  assertEquals(r.faults.reduce((a, b) => a + b, 0), 0);
  assertEquals(relayOf(r.m)!.nicIn.faults, null);
});

Deno.test("a faulted run replays identically, and the same seed injects the same faults", () => {
  const overrides: Record<string, string> = { "sim.durationNs": "1500000", "net.tcpRtoNs": "100000" };
  for (const s of FAULT_SWITCHES) {
    if (s.key in FAULT_KEYS) overrides[s.key] = String(s.key.endsWith("AtNs") ? 400_000 : s.values[1]);
  }
  const out = `${dir}/faulted.lstrace`;
  recordRun({ scenario: "splice-tcp", seed: 9, overrides, out });
  const r = replayFile(out, { resolve: (h: TraceHeader) => findScenario(h.scenario) });
  assertEquals(r.digestMismatch, null);
  assertEquals(r.rerun, "identical");
  const a = faulted("splice-tcp", overrides, 9), b = faulted("splice-tcp", overrides, 9);
  assertEquals(a.faults, b.faults);
  assert(a.faults.filter((n) => n > 0).length >= 8, `most faults injected: ${a.faults}`);
  assertEquals(checkTrace(out).violations, []);
});

Deno.test("swarm: the choice is the seed's, recorded in the config, and varies across seeds", () => {
  const base = resolveScenarioConfig(findScenario("splice-tcp"), { "sched.strategy": "random" });
  assertEquals(swarmChoice(base, 7), swarmChoice(base, 7));
  const seen = new Set<string>();
  for (let s = 1; s <= 40; s++) seen.add(JSON.stringify(swarmChoice(base, s)));
  assert(seen.size >= 35, `${seen.size} distinct choices`);
  const cfg = swarmConfig(base, 7);
  for (const [k, v] of Object.entries(swarmChoice(base, 7))) assertEquals(cfg[k], v);
  // A scenario without fault keys gets only perturbation parameters.
  const lock = resolveScenarioConfig(findScenario("lock-abba"), { "sched.strategy": "random" });
  assertEquals(Object.keys(swarmChoice(lock, 7)).sort(), ["sched.perturbPpm", "sched.stallNs"]);
  assertEquals(parseExploreArgs(["splice-tcp", "--swarm"]).swarm, true);
});

Deno.test("swarm: a finding lists the faults that were on and shrinks to the one it needs", async () => {
  const mod = new URL("./_fault_bug_scenario.ts", import.meta.url).pathname;
  const o: ExploreOptions = {
    scenario: mod,
    seeds: 12,
    strategy: "random",
    jobs: 1,
    overrides: {},
    outDir: `${dir}/swarm`,
    all: false,
    json: true,
    swarm: true,
  };
  const r = await explore(o);
  assertEquals(r.found.length, 1);
  const f = r.found[0];
  assert(f.faults !== undefined && f.faults.length >= 2, `several faults on: ${f.faults}`);
  assert(f.faults.some((k) => k.startsWith("fault.rxRingPpm=")));
  assertEquals(f.faultsNeeded?.map((k) => k.split("=")[0]), ["fault.rxRingPpm"]);
  assert(/--set fault\.rxRingPpm=/.test(f.reproduce), f.reproduce);
  // The shrunk trace's header carries only the needed fault, and it reproduces the violation.
  const rec = checkTrace(f.trace!);
  const on = FAULT_SWITCHES.filter((s) => Number(rec.header.config[s.key] ?? 0) !== 0).map((s) => s.key);
  assertEquals(on, ["fault.rxRingPpm"]);
  assertEquals(rec.violations.map((v) => v.kind), ["conservation"]);
  // Without swarm (no faults) the same seeds find nothing.
  const plain = await explore({ ...o, swarm: false, outDir: `${dir}/plain` });
  assertEquals(plain.found, []);
});

Deno.test("swarm: shards merge into the single-process report, faults and traces included", async () => {
  const mod = new URL("./_fault_bug_scenario.ts", import.meta.url).pathname;
  const o: ExploreOptions = {
    scenario: mod,
    seeds: 8,
    strategy: "random",
    jobs: 1,
    overrides: {},
    outDir: `${dir}/sw-single`,
    all: true,
    json: true,
    swarm: true,
  };
  const single = await explore(o);
  assert(single.found.length >= 2, "several findings to compare");
  await explore({ ...o, outDir: `${dir}/sw-0`, shard: { index: 0, count: 2 } });
  await explore({ ...o, outDir: `${dir}/sw-1`, shard: { index: 1, count: 2 } });
  const merged = mergeShards([`${dir}/sw-1`, `${dir}/sw-0`]);
  assertEquals(merged.missing, []);
  const strip = (f: Finding) => [f.seed, f.kind, f.reproduce, f.faults, f.faultsNeeded];
  assertEquals(merged.report.found.map(strip), single.found.map(strip));
  for (let i = 0; i < single.found.length; i++) {
    assertEquals(Deno.readFileSync(merged.report.found[i].trace!), Deno.readFileSync(single.found[i].trace!));
  }
  // A swarm shard and a plain one are not one exploration.
  await explore({ ...o, swarm: false, outDir: `${dir}/plain-1`, shard: { index: 1, count: 2 } });
  assertThrows(() => mergeShards([`${dir}/sw-0`, `${dir}/plain-1`]), /--swarm differs/);
});
