import { assert, assertEquals } from "./_assert.ts";
import { Histogram } from "../core/histogram.ts";
import { Prng } from "../core/prng.ts";

Deno.test("histogram: exact below 128, within 1.6 % above, fixed memory", () => {
  const h = new Histogram();
  for (let v = 0; v < 100; v++) h.record(v);
  assertEquals(h.quantile(50), 49);
  const r = new Prng(3);
  const values: number[] = [];
  const g = new Histogram();
  for (let i = 0; i < 20000; i++) {
    const v = r.below(1 << 20) * (1 + r.below(1000));
    values.push(v);
    g.record(v);
  }
  values.sort((a, b) => a - b);
  for (const p of [1, 50, 90, 99, 99.9]) {
    const exact = values[Math.ceil((p / 100) * values.length) - 1];
    const got = g.quantile(p);
    assert(Math.abs(got - exact) <= exact / 64 + 1, `p${p}: ${got} vs ${exact}`);
  }
  const top = values[values.length - 1];
  assertEquals(g.max, top);
  assert(g.quantile(100) <= top && g.quantile(100) >= top * (1 - 1 / 64), `p100: ${g.quantile(100)} vs ${top}`);
});

Deno.test("histogram: an empty one answers 0 at every percentile; the first record counts", () => {
  const h = new Histogram();
  for (const p of [0, 50, 99, 100]) assertEquals(h.quantile(p), 0);
  h.record(5000);
  assertEquals(h.count, 1);
  assert(Math.abs(h.quantile(50) - 5000) <= 5000 / 64, `p50 ${h.quantile(50)}`);
  assertEquals(h.quantile(100), h.quantile(1));
});
