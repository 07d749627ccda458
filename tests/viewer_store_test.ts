/**
 * The persisted viewer index (`FILE.vix`): read back it is the index built
 * from the trace, field for field; it is refused when damaged anywhere, when
 * it belongs to another trace, when its trace was re-recorded, or when other
 * index code (another format version) saved it; and the
 * queries over a run opened from it answer as over the built index.
 */
import { assert, assertEquals } from "./_assert.ts";
import { recordRun } from "../cli/run.ts";
import { buildIndex, type RunIndex } from "../replay/_query_index.ts";
import { INDEX_SUFFIX, loadIndex, saveIndex } from "../replay/_query_store.ts";
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

  await t.step("a flipped byte anywhere makes it absent", () => {
    const good = Deno.readFileSync(a + INDEX_SUFFIX);
    for (const at of [0, 9, 30, good.length >> 1, good.length - 10, good.length - 1]) {
      const bad = good.slice();
      bad[at] ^= 0x10;
      Deno.writeFileSync(a + INDEX_SUFFIX, bad);
      assertEquals(withReader(a, (r, bytes) => loadIndex(a, r, bytes)), undefined, `byte ${at}`);
    }
    // Whole and checksummed, but saved by other index code (or another format version): rebuilt, not read.
    const resealed = (at: number) => {
      const other = good.slice();
      if (at >= 0) other[at] ^= 1;
      const end = other.length - 4;
      new DataView(other.buffer).setUint32(end, crc32c(other, 0, 0, end), true);
      Deno.writeFileSync(a + INDEX_SUFFIX, other);
      return withReader(a, (r, bytes) => loadIndex(a, r, bytes));
    };
    assert(resealed(-1) !== undefined, "resealing alone keeps it readable");
    for (const at of [4, 24]) assertEquals(resealed(at), undefined, `header word at ${at}`);
    Deno.writeFileSync(a + INDEX_SUFFIX, good.subarray(0, good.length - 100));
    assertEquals(withReader(a, (r, bytes) => loadIndex(a, r, bytes)), undefined, "cut short");
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
    // Small runs are indexed on every open and get no file.
    assert(Deno.statSync(b).size <= SYNC_INDEX_BYTES_MAX);
    q2.detail("b");
    assert(!exists(b + INDEX_SUFFIX));
    q2.close();
  });
});

function exists(p: string): boolean {
  try {
    Deno.statSync(p);
    return true;
  } catch {
    return false;
  }
}
