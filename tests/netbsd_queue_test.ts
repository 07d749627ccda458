/**
 * NetBSD lockless queues (core/netbsd/pcq.ts, atomic_queue.ts) and their
 * scenarios: pcq(9) capacity and NULL-race semantics, ifqueue capacity,
 * exploration finding the broken producer and the ABA pop, traces replaying.
 * @module
 */
import { assert, assertEquals, assertThrows } from "./_assert.ts";
import { COST_KEYS, MACHINE_KEYS, resolveConfig } from "../core/config.ts";
import { Machine } from "../core/machine.ts";
import { AtomicFifo, AtomicLifo, AtomicQueue } from "../core/netbsd/atomic_queue.ts";
import { IfQueue, Pcq } from "../core/netbsd/pcq.ts";
import type { KCode } from "../core/objects.ts";
import { explore, type ExploreOptions } from "../cli/explore.ts";
import { findScenario, resolveScenarioConfig, runScenario } from "../drivers/mod.ts";
import { replayFile } from "../replay/mod.ts";

/** Runs `body` as one thread of a bare 1-CPU machine. */
function inThread(body: (m: Machine) => KCode): Machine {
  const m = new Machine({ config: resolveConfig([MACHINE_KEYS, COST_KEYS], { cpus: "1" }), seed: 1 });
  m.spawn("t", () => body(m));
  m.run();
  return m;
}

Deno.test("pcq_create(n) holds n-1 items, pcq_maxitems says n; FIFO; NULL when empty", () => {
  const q = new Pcq(4);
  const got: number[] = [];
  const puts: boolean[] = [];
  inThread(function* (m) {
    for (const x of [11, 12, 13, 14]) puts.push(yield* q.put(m, x));
    for (let i = 0; i < 4; i++) got.push(yield* q.get(m));
    puts.push(yield* q.put(m, 15)); // wraps around
    got.push(yield* q.get(m));
  });
  assertEquals(q.maxitems(), 4);
  assertEquals(puts, [true, true, true, false, true]);
  assertEquals(got, [11, 12, 13, 0, 15]);
  assertThrows(() => new Pcq(0), /nitems 0/);
  assertThrows(() => new Pcq(0x10000), /nitems 65536/);
});

Deno.test("pcq_get returns NULL on a slot reserved but not yet stored, and leaves it for the next get", () => {
  const q = new Pcq(8);
  const got: number[] = [];
  inThread(function* (m) {
    q.pc = 1; // p = 1, c = 0: a producer reserved slot 0 and has not stored
    got.push(yield* q.get(m));
    q.items[0] = 42; // the producer's store, then its notification
    got.push(yield* q.get(m));
  });
  assertEquals(got, [0, 42]);
  assertEquals(q.racedGets, 1);
  assertEquals(q.length(), 0);
});

Deno.test("ifqueue holds exactly ifq_maxlen items and counts drops", () => {
  const res: (boolean | number)[] = [];
  let q: IfQueue | null = null;
  inThread(function* (m) {
    q = new IfQueue(m, "ifq_lock", 2);
    for (const x of [1, 2, 3]) res.push(yield* q.enqueue(m, x));
    for (let i = 0; i < 3; i++) res.push(yield* q.dequeue(m));
  });
  assertEquals(res, [true, true, false, 1, 2, 0]);
  assertEquals((q as unknown as IfQueue).drops, 1);
});

Deno.test("atomic LIFO: pops in reverse push order; the generation changes on every CAS", () => {
  const q = new AtomicLifo(3, "lifo-gen");
  const got: number[] = [];
  inThread(function* (m) {
    for (const x of [1, 2, 3]) yield* q.push(m, x);
    for (let i = 0; i < 4; i++) got.push(yield* q.pop(m));
  });
  assertEquals(got, [3, 2, 1, 0]);
  assertEquals(q.gen, 6);
});

Deno.test("pcq-ifqueue: both queues deliver every item once on the default schedule", () => {
  for (const impl of ["pcq", "ifqueue"]) {
    const o = runScenario({ scenario: "pcq-ifqueue", seed: 1, overrides: { "pcq.impl": impl, "pcq.items": "40" } });
    assertEquals(o.result.violations, [], impl);
    assertEquals(o.metrics.delivered, 160, impl);
    assertEquals(o.metrics.drops, 0, impl);
  }
  // A tiny pcq: size 2 holds one item, so producers see drops, yet nothing accepted is lost.
  const small = runScenario({
    scenario: "pcq-ifqueue",
    seed: 1,
    overrides: { "pcq.size": "2", "pcq.gapNs": "0", "pcq.items": "50" },
  });
  assertEquals(small.result.violations, []);
  assert((small.metrics.drops as number) > 0, "drops with a one-item pcq");
  assertEquals((small.metrics.delivered as number) + (small.metrics.drops as number), 200);
});

Deno.test("pcq-ifqueue: sizes out of range are refused", () => {
  const s = findScenario("pcq-ifqueue");
  assertThrows(() => resolveScenarioConfig(s, { "pcq.size": "1" }), /pcq.size/);
  assertThrows(() => resolveScenarioConfig(s, { "pcq.size": "65536" }), /pcq.size/);
  assertThrows(() => resolveScenarioConfig(s, { "pcq.producers": "0" }), /pcq.producers/);
});

const dir = Deno.makeTempDirSync({ prefix: "lockstep-nbq-" });
function opts(scenario: string, overrides: Record<string, string>, seeds: number): ExploreOptions {
  return { scenario, seeds, strategy: "random", jobs: 2, overrides, outDir: dir, all: false, json: true };
}
const resolve = () => findScenario("pcq-ifqueue");

Deno.test("explore finds the pcq producer without CAS (lost items); the CAS producer survives; the trace replays", async () => {
  const bad = { "pcq.variant": "nocas" };
  const r = await explore(opts("pcq-ifqueue", bad, 30));
  assertEquals(r.found.map((f) => f.kind), ["stream"]);
  assert(/lost/.test(r.found[0].message), r.found[0].message);
  const rep = replayFile(r.found[0].trace as string, { resolve });
  assertEquals(rep.rerun, "identical");
  assertEquals(rep.violations.map((v) => v.kind), ["stream"]);
  const ok = await explore(opts("pcq-ifqueue", {}, 30));
  assertEquals(ok.found, []);
});

Deno.test("explore finds ABA on a LIFO pop without a generation; with one, and with a mutex, nothing", async () => {
  const r = await explore(opts("atomic-lifo", { "aq.impl": "lifo" }, 40));
  assertEquals(r.found.map((f) => f.kind), ["conservation"]);
  const rep = replayFile(r.found[0].trace as string, { resolve: () => findScenario("atomic-lifo") });
  assertEquals(rep.rerun, "identical");
  for (const impl of ["lifo-gen", "tailq"]) {
    assertEquals((await explore(opts("atomic-lifo", { "aq.impl": impl }, 40))).found, [], impl);
  }
});

Deno.test("atomic FIFO: tail insertion, head removal in order; NULL while a producer is between its swap and its link", () => {
  const q = new AtomicFifo(5);
  const got: number[] = [];
  inThread(function* (m) {
    for (const x of [1, 2, 3]) yield* q.put(m, x);
    for (let i = 0; i < 4; i++) got.push(yield* q.get(m));
    // Item 5's producer swapped the tail but has not linked 4 -> 5 yet: 4 must not be handed out
    // (its successor is unknown), and nothing is lost once the link is stored.
    yield* q.put(m, 4);
    yield* q.put(m, 5);
    q.next[4] = 0;
    got.push(yield* q.get(m));
    q.next[4] = 5;
    got.push(yield* q.get(m), yield* q.get(m), yield* q.get(m));
  });
  assertEquals(got, [1, 2, 3, 0, 0, 4, 5, 0]);
  assertEquals(q.racedGets, 1);
});

Deno.test("explore finds the atomic FIFO producer without the swap (lost items); with it, nothing", async () => {
  const bad = { "pcq.impl": "afifo", "pcq.variant": "nocas" };
  const r = await explore(opts("pcq-ifqueue", bad, 30));
  assertEquals(r.found.map((f) => f.kind), ["stream"]);
  assertEquals(replayFile(r.found[0].trace as string, { resolve }).rerun, "identical");
  assertEquals((await explore(opts("pcq-ifqueue", { "pcq.impl": "afifo", "pcq.gapNs": "0" }, 20))).found, []);
  const ok = runScenario({ scenario: "pcq-ifqueue", seed: 1, overrides: { "pcq.impl": "afifo", "pcq.items": "40" } });
  assertEquals(ok.metrics.delivered, 160);
});

Deno.test("atomic queue: one queue takes items at the head (LIFO) and the tail (FIFO), removal at the head", () => {
  const q = new AtomicQueue(8);
  const got: number[] = [];
  inThread(function* (m) {
    yield* q.putTail(m, 1);
    yield* q.putTail(m, 2);
    yield* q.putHead(m, 3); // 3 1 2
    yield* q.putHead(m, 4); // 4 3 1 2
    yield* q.putTail(m, 5); // 4 3 1 2 5
    for (let i = 0; i < 6; i++) got.push(yield* q.get(m));
    // On the empty queue (the stub at the head), head and tail insertion meet at the stub.
    yield* q.putHead(m, 6);
    yield* q.putTail(m, 7);
    yield* q.putHead(m, 8); // 8 6 7
    for (let i = 0; i < 4; i++) got.push(yield* q.get(m));
  });
  assertEquals(got, [4, 3, 1, 2, 5, 0, 8, 6, 7, 0]);
  assertEquals(q.count(20), 0);
  assertEquals(q.casFailures, 0);
});

Deno.test("explore, mixed head and tail insertion: the broken queue loses or doubles items, the CAS/swap one nothing", async () => {
  const mixed = { "pcq.impl": "aqueue", "pcq.headPct": "50" };
  const r = await explore(opts("pcq-ifqueue", { ...mixed, "pcq.variant": "nocas" }, 30));
  assertEquals(r.found.map((f) => f.kind), ["conservation"]);
  assert(/twice|never removed/.test(r.found[0].message), r.found[0].message);
  assertEquals(replayFile(r.found[0].trace as string, { resolve }).rerun, "identical");
  for (const gapNs of ["0", "500"]) {
    assertEquals((await explore(opts("pcq-ifqueue", { ...mixed, "pcq.gapNs": gapNs }, 30))).found, [], gapNs);
  }
  const ok = runScenario({ scenario: "pcq-ifqueue", seed: 1, overrides: { ...mixed, "pcq.items": "40" } });
  assertEquals(ok.result.violations, []);
  assertEquals(ok.metrics.delivered, 160);
  const heads = ok.metrics.headPuts as number;
  assert(heads > 40 && heads < 120, `both ends used: ${heads} of 160 at the head`);
  assertThrows(
    () => resolveScenarioConfig(findScenario("pcq-ifqueue"), { "pcq.headPct": "101" }),
    /pcq.headPct/,
  );
});

Deno.test("the infrastructure scenarios run on kernel=netbsd; overriding it gives the OpenBSD personality back", () => {
  const names = [
    "pcq-ifqueue",
    "atomic-lifo",
    "route-lookup",
    "kcont-dispatch",
    "rx-livelock",
    "rx-demux",
    "syn-flood",
    "branes",
    "nexthop-cache",
  ];
  for (const n of names) assertEquals(resolveScenarioConfig(findScenario(n), {})["kernel"], "netbsd", n);
  assertEquals(resolveScenarioConfig(findScenario("pcq-ifqueue"), { kernel: "openbsd" })["kernel"], "openbsd");
});

Deno.test("pcq consumers under a kmutex spin while the holder drains: no batching, unlike a blocking mutex", () => {
  // gapNs 500, 4 producers of 100 items (docs/netbsd-infrastructure.md row 1). With kernel=netbsd a soft interrupt
  // that finds the consumer mutex held spins (kern_mutex.c), keeping its CPU's producer off the CPU: every put is
  // drained by its own soft interrupt. A blocking mutex (openbsd) lets the producer run on and a drain batches.
  const run = (kernel: string) =>
    runScenario({ scenario: "pcq-ifqueue", seed: 1, overrides: { "pcq.gapNs": "500", kernel } });
  const nb = run("netbsd"), ob = run("openbsd");
  for (const o of [nb, ob]) {
    assertEquals(o.result.violations, []);
    assertEquals(o.metrics.delivered, 400);
  }
  assertEquals(nb.metrics.drains, 400, "one drain per item");
  assert((ob.metrics.drains as number) < 100, `openbsd batches: ${ob.metrics.drains} drains`);
  const contention = (o: typeof nb) => (o.metrics.lockContention as Record<string, number>).pcq_consumer;
  assert(contention(nb) > 5 * contention(ob), `spinning waiters ${contention(nb)} vs ${contention(ob)}`);
  assert((nb.metrics.contextSwitches as number) > 10 * (ob.metrics.contextSwitches as number));
});
