/**
 * The persisted viewer index (`FILE.vix`): read back it is the index built
 * from the trace, field for field; damage anywhere is caught before its data
 * is used (the head and meta on opening, each array when first touched); it
 * is refused when it belongs to another trace, when its trace was
 * re-recorded, or when other index code (another format version) saved it;
 * the queries over a run opened from it answer as over the built index, and
 * over a damaged one drop it, build it again and answer the same.
 */
import { assert, assertEquals } from "./_assert.ts";
import { recordRun } from "../cli/run.ts";
import { buildIndex, INDEX_ARRAYS, LEVEL_ARRAYS, type RunIndex } from "../replay/_query_index.ts";
import { INDEX_SUFFIX, IndexDamaged, loadIndex, saveIndex } from "../replay/_query_store.ts";
import { TraceReader } from "../replay/reader.ts";
import { crc32c } from "../format/format.ts";
import { RunQueries, SYNC_INDEX_BYTES_MAX } from "../replay/query.ts";
import { tempDir } from "./_tmp.ts";

const dir = tempDir("lockstep-vix-");

function record(name: string, seed: number, events: number): string {
  const out = `${dir}/${name}.lstrace`;
  recordRun({
    scenario: "mutex-storm",
    seed,
    overrides: { "sim.eventsMax": String(events), "sim.durationNs": "100000000000" },
    out,
  });
  return out;
}

/** The index as plain data (maps and typed arrays as arrays), for deep comparison. */
function plain(ix: RunIndex): unknown {
  return JSON.parse(JSON.stringify(ix, (_k, v) => {
    if (v instanceof Map) return [...v];
    if (ArrayBuffer.isView(v)) return Array.from(v as unknown as ArrayLike<number>);
    return v;
  }));
}

function withReader<T>(path: string, fn: (r: TraceReader, bytes: number) => T): T {
  const r = TraceReader.open(path, { recover: true });
  try {
    return fn(r, Deno.statSync(path).size);
  } finally {
    r.close();
  }
}

Deno.test("persisted viewer index: round trip, refusals, and the queries over it", async (t) => {
  const a = record("a", 1, 120_000), b = record("b", 2, 120_000);
  const built = withReader(a, (r, bytes) => buildIndex(r, bytes));

  await t.step("read back, it equals the index built from the trace", () => {
    assert(withReader(a, (r) => saveIndex(a, r, built)), "saved");
    const back = withReader(a, (r, bytes) => loadIndex(a, r, bytes));
    assert(back !== undefined, "loaded");
    assertEquals(plain(back), plain(built));
    assert(back.grid === back.levels[0]);
    assertEquals(back.grid.cellOf(built.tLast), built.grid.cellOf(built.tLast), "the grid's methods work");
  });

  await t.step("a flipped byte anywhere is caught before its data is used", () => {
    const good = Deno.readFileSync(a + INDEX_SUFFIX);
    const metaEnd = 32 + new DataView(good.buffer).getUint32(20, true);
    const flips = [0, 9, 30, 40, metaEnd - 1, metaEnd + 3, good.length >> 1, good.length - 10, good.length - 1];
    for (const at of flips) {
      const bad = good.slice();
      bad[at] ^= 0x10;
      Deno.writeFileSync(a + INDEX_SUFFIX, bad);
      const ix = withReader(a, (r, bytes) => loadIndex(a, r, bytes));
      if (at < metaEnd) {
        assertEquals(ix, undefined, `byte ${at}: the head and meta are checked on opening`);
        continue;
      }
      // An array's bytes are read and checked when a query first touches them: that array throws, before use.
      assert(ix !== undefined, `byte ${at} lies in an array: opening reads only the head and meta`);
      const caught = touchAll(ix).filter((e) => e instanceof IndexDamaged);
      assertEquals(caught.length, 1, `byte ${at}: exactly the damaged array is refused`);
    }
    // Whole and checksummed, but saved by other index code (or another format version): rebuilt, not read.
    const resealed = (at: number) => {
      const other = good.slice();
      if (at >= 0) other[at] ^= 1;
      const head = other.subarray(0, 28), meta = other.subarray(32, metaEnd);
      new DataView(other.buffer).setUint32(28, crc32c(meta, crc32c(head)), true);
      Deno.writeFileSync(a + INDEX_SUFFIX, other);
      return withReader(a, (r, bytes) => loadIndex(a, r, bytes));
    };
    assert(resealed(-1) !== undefined, "resealing alone keeps it readable");
    for (const at of [4, 24]) assertEquals(resealed(at), undefined, `header word at ${at}`);
    Deno.writeFileSync(a + INDEX_SUFFIX, good.subarray(0, good.length - 100));
    assertEquals(withReader(a, (r, bytes) => loadIndex(a, r, bytes)), undefined, "cut short");
    Deno.writeFileSync(a + INDEX_SUFFIX, good);
    assertEquals(touchAll(withReader(a, (r, bytes) => loadIndex(a, r, bytes))!), [], "whole again");
  });

  await t.step("replaced after opening: an array read then is refused, not mixed with the old one", () => {
    const ix = withReader(a, (r, bytes) => loadIndex(a, r, bytes))!;
    const good = Deno.readFileSync(a + INDEX_SUFFIX);
    const other = good.slice();
    other[8] ^= 1; // another content key: the index of another trace
    Deno.writeFileSync(a + INDEX_SUFFIX, other);
    assert(touchAll(ix).every((e) => e instanceof IndexDamaged), "every array refused");
    Deno.writeFileSync(a + INDEX_SUFFIX, good);
  });

  await t.step("another trace's index, or the trace re-recorded, is refused", () => {
    Deno.copyFileSync(a + INDEX_SUFFIX, b + INDEX_SUFFIX);
    assertEquals(withReader(b, (r, bytes) => loadIndex(b, r, bytes)), undefined, "another trace");
    Deno.removeSync(b + INDEX_SUFFIX);
    const c = `${dir}/c.lstrace`;
    Deno.copyFileSync(a, c);
    Deno.copyFileSync(a + INDEX_SUFFIX, c + INDEX_SUFFIX);
    assert(withReader(c, (r, bytes) => loadIndex(c, r, bytes)) !== undefined, "a copy with its index is fine");
    recordRun({
      scenario: "mutex-storm",
      seed: 3,
      overrides: { "sim.eventsMax": "120000", "sim.durationNs": "100000000000" },
      out: c,
    });
    assertEquals(withReader(c, (r, bytes) => loadIndex(c, r, bytes)), undefined, "the trace changed under it");
  });

  await t.step("a damaged trace gets none", () => {
    const d = `${dir}/d.lstrace`;
    const bytes = Deno.readFileSync(a);
    Deno.writeFileSync(d, bytes.subarray(0, bytes.length - 1000)); // no footer: recovered up to the damage
    assertEquals(withReader(d, (r, n) => saveIndex(d, r, buildIndex(r, n))), false);
    assert(!exists(d + INDEX_SUFFIX));
  });

  await t.step("RunQueries saves it for a large run, and a new instance answers the same from it", () => {
    const big = record("big", 4, 300_000);
    assert(Deno.statSync(big).size > SYNC_INDEX_BYTES_MAX, "past the size indexed on every open");
    const grids = withReader(big, (r, n) => buildIndex(r, n)).levels.length;
    const q1 = new RunQueries(dir);
    const d1 = q1.detail("big");
    const tl1 = q1.timeline("big", d1.tFirst, d1.simNs, 800);
    const ev1 = q1.events("big", 0, 50, { kinds: new Set([3]) });
    q1.close();
    assert(exists(big + INDEX_SUFFIX), "saved beside the trace");
    const q2 = new RunQueries(dir);
    assertEquals(q2.detail("big"), d1);
    const stored = withReader(big, (r, n) => loadIndex(big, r, n))!;
    assertEquals(stored.levels.length, grids, "every grid level is kept");
    assertEquals(q2.timeline("big", d1.tFirst, d1.simNs, 800), tl1);
    assertEquals(q2.events("big", 0, 50, { kinds: new Set([3]) }), ev1);
    // Damage inside an array (the grid's, read when a timeline first needs it): the queries drop the index,
    // build it again and answer the same, and the rebuilt file replaces the damaged one.
    const vix = Deno.readFileSync(big + INDEX_SUFFIX);
    const bad = vix.slice();
    bad[bad.length - 10] ^= 0x40;
    Deno.writeFileSync(big + INDEX_SUFFIX, bad);
    const q3 = new RunQueries(dir);
    assertEquals(q3.detail("big"), d1);
    assertEquals(q3.timeline("big", d1.tFirst, d1.simNs, 800), tl1);
    assertEquals(Deno.readFileSync(big + INDEX_SUFFIX), vix, "rebuilt and saved again");
    q3.close();
    // Small runs are indexed on every open and get no file.
    assert(Deno.statSync(b).size <= SYNC_INDEX_BYTES_MAX);
    q2.detail("b");
    assert(!exists(b + INDEX_SUFFIX));
    q2.close();
  });
});

/** Touches every array of `ix` (each read and checked then); returns what each touch threw, in order. */
function touchAll(ix: RunIndex): unknown[] {
  const thrown: unknown[] = [];
  const touch = (get: () => ArrayLike<number>) => {
    try {
      get().length;
    } catch (e) {
      thrown.push(e);
    }
  };
  for (const k of INDEX_ARRAYS) touch(() => ix[k]);
  for (const g of ix.levels) for (const k of LEVEL_ARRAYS) touch(() => g[k]);
  return thrown;
}

function exists(p: string): boolean {
  try {
    Deno.statSync(p);
    return true;
  } catch {
    return false;
  }
}
