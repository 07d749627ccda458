import { assertEquals, assertThrows } from "./_assert.ts";
import { Deque } from "../core/_array.ts";
import { Prng } from "../core/prng.ts";
import { TimerHeap } from "../core/_timer_heap.ts";

// The machine's run queues, lock waiters, held locks and sleep queues are
// Deques: any difference from array order semantics would change schedules.
Deno.test("deque: every operation keeps the order an array would, across wrap-around and growth", () => {
  const rng = new Prng(42);
  const q = new Deque<number>();
  const a: number[] = [];
  for (let step = 0; step < 20_000; step++) {
    const op = rng.below(8);
    const v = step;
    if (op === 0) {
      q.push(v);
      a.push(v);
    } else if (op === 1) {
      q.unshift(v);
      a.unshift(v);
    } else if (op === 2) assertEquals(q.shift(), a.shift());
    else if (op === 3) assertEquals(q.pop(), a.pop());
    else if (op === 4) {
      const i = rng.below(a.length + 1);
      q.insertAt(i, v);
      a.splice(i, 0, v);
    } else if (op === 5 && a.length > 0) {
      const i = rng.below(a.length);
      q.removeAt(i);
      a.splice(i, 1);
    } else if (op === 6 && a.length > 0) {
      const x = a[rng.below(a.length)];
      assertEquals(q.indexOf(x), a.indexOf(x));
      assertEquals(q.removeLast(x), true);
      a.splice(a.lastIndexOf(x), 1);
    } else if (op === 7 && a.length > 40) {
      // Drain, so the list empties and refills (the case plain arrays reallocate on).
      while (a.length > 0) assertEquals(q.shift(), a.shift());
    }
    assertEquals(q.length, a.length);
    if (step % 97 === 0) assertEquals(q.toArray(), a);
  }
  assertEquals(q.toArray(), a);
  assertEquals(q.first(), a[0]);
  assertEquals(q.includes(-1), false);
  assertEquals(q.removeLast(-1), false);
});

Deno.test("deque: out-of-range insertAt and removeAt are errors, not silent corruption", () => {
  const q = new Deque<string>();
  q.push("a");
  assertThrows(() => q.removeAt(1), /removeAt\(1\)/);
  assertThrows(() => q.removeAt(-1), /removeAt\(-1\)/);
  assertThrows(() => q.insertAt(2, "x"), /insertAt\(2\)/);
  q.clear();
  assertEquals(q.length, 0);
  assertEquals(q.shift(), undefined);
  assertEquals(q.pop(), undefined);
});

// Prng.below takes an integer path for n <= 2^30; it must draw exactly what
// the float formula (limit = 2^32 - 2^32 mod n, then x mod n) draws, or every
// trace would change.
Deno.test("prng: below() gives the float formula's numbers for every size of n", () => {
  const ns = [2, 3, 6, 7, 8, 301, 1000, 1_000_000, 0x3fffffff, 0x40000000, 0x40000001, 0x7fffffff, 0xffffffff];
  for (let k = 2; k < 31; k++) ns.push((1 << k) - 1, 1 << k, (1 << k) + 1);
  for (const n of ns) {
    const a = new Prng(9), ref = new Prng(9);
    for (let i = 0; i < 200; i++) {
      const limit = 0x100000000 - (0x100000000 % n);
      let x = ref.next32();
      while (x >= limit) x = ref.next32();
      assertEquals(a.below(n), x % n, `n=${n} draw ${i}`);
    }
    assertEquals(a.draws, ref.draws, `n=${n}: redraws`);
  }
});

// The timer heap's pop order is the schedule of every device and timeout
// event: (time, arming order), whatever the interleaving of arms and pops.
Deno.test("timer heap: pops in (time, arming order) through empties, refills and reuse", () => {
  const rng = new Prng(5);
  const h = new TimerHeap();
  const ref: { tNs: number; seq: number }[] = [];
  let seq = 0;
  for (let step = 0; step < 20_000; step++) {
    if (ref.length === 0 || rng.below(3) !== 0) {
      const tNs = rng.below(50); // many equal times: the sequence decides
      h.push(tNs, 2, null, null, seq);
      ref.push({ tNs, seq: seq++ });
    } else {
      ref.sort((a, b) => a.tNs - b.tNs || a.seq - b.seq);
      const want = ref.shift()!;
      const t = h.pop();
      assertEquals([t.tNs, t.gen], [want.tNs, want.seq]);
      h.recycle(t);
    }
    assertEquals(h.size, ref.length);
    assertEquals(h.peekTime(), ref.length === 0 ? Infinity : Math.min(...ref.map((r) => r.tNs)));
  }
});
