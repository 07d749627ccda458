/**
 * The seek sidecar, version 2 (issue 15): a snapshot every SNAPSHOT_EVERY
 * events and at every block's first event, so `replay --at N` folds from a
 * snapshot in N's own block and decodes that block only up to N.
 */
import { assert, assertEquals } from "./_assert.ts";
import { tempDir } from "./_tmp.ts";
import { recordRun } from "../cli/run.ts";
import { SEEK_SUFFIX, SNAPSHOT_EVERY, stateAt, TraceReader } from "../replay/mod.ts";
import { stateBefore } from "../replay/seek.ts";
import { RebuiltState } from "../replay/state.ts";
import { crc32c, getU32, getU64, putU32 } from "../format/format.ts";

const dir = tempDir("lockstep-seek2-");

/** First event index of every block, walked from the spec layout (header, then blocks up to the footer). */
function blockStarts(bytes: Uint8Array): number[] {
  const out = [];
  const end = getU64(bytes, bytes.length - 16);
  for (let at = 20 + getU32(bytes, 12); at < end; at += 40 + getU32(bytes, at + 4)) out.push(getU64(bytes, at + 12));
  return out;
}

/** Event index of each sidecar snapshot, from its table (layout in replay/seek.ts). */
function sidecarIndexes(seek: Uint8Array): number[] {
  assertEquals(getU32(seek, 0), 0x4b53534c, "magic");
  assertEquals(getU32(seek, 4), 2, "version");
  const n = getU32(seek, 24);
  return Array.from({ length: n }, (_, k) => getU64(seek, 28 + k * 24));
}

/** The state after `at` events by a plain fold from event 0. */
function foldTo(file: string, at: number): unknown {
  const r = TraceReader.open(file);
  const s = new RebuiltState(r.header.cpus);
  r.forEachBetween(0, at, (e) => s.apply(e));
  r.close();
  return JSON.parse(JSON.stringify(s.toJSON()));
}

Deno.test("seek sidecar v2: a snapshot at every multiple of the interval and every block's first event", () => {
  const f = `${dir}/storm.lstrace`;
  recordRun({ scenario: "mutex-storm", seed: 3, overrides: { "sim.durationNs": "40000000" }, out: f });
  const bytes = Deno.readFileSync(f);
  const starts = blockStarts(bytes);
  const r = TraceReader.open(f);
  const count = r.eventCount!;
  r.close();
  assert(starts.length >= 3 && count > 3 * SNAPSHOT_EVERY, `${starts.length} blocks, ${count} events`);
  const want = new Set<number>(starts);
  for (let i = 0; i <= count; i += SNAPSHOT_EVERY) want.add(i);
  // Past a block start, before the next multiple: the first seek builds the sidecar.
  const at = starts[1] + 7;
  assertEquals(JSON.parse(JSON.stringify(stateAt(f, at))), foldTo(f, at));
  assertEquals(sidecarIndexes(Deno.readFileSync(f + SEEK_SUFFIX)), [...want].sort((a, b) => a - b));
  // Exactly at block starts and their neighbours, and at multiples: each agrees with the plain fold.
  for (const i of [starts[1], starts[1] - 1, starts[2] + 1, 2 * SNAPSHOT_EVERY, 2 * SNAPSHOT_EVERY + 1, count]) {
    assertEquals(JSON.parse(JSON.stringify(stateAt(f, i))), foldTo(f, i), `stateAt(${i})`);
  }
  // stateBefore keeps to multiples of the interval (the viewer's counters start on a chunk boundary).
  const rr = TraceReader.open(f);
  for (const i of [starts[1] + 5, starts[2] + 5, count]) {
    const s = stateBefore(f, rr, i);
    assertEquals(s.index % SNAPSHOT_EVERY, 0, `stateBefore(${i}) at ${s.index}`);
    assert(s.index <= i && i - s.index < SNAPSHOT_EVERY, `stateBefore(${i}) at ${s.index}`);
  }
  rr.close();
});

Deno.test("seek sidecar v2: a version 1 sidecar is stale and rebuilt; a damaged table is rebuilt", () => {
  const f = `${dir}/v1.lstrace`;
  recordRun({ scenario: "mutex-storm", seed: 4, overrides: { "sim.durationNs": "30000000" }, out: f });
  const at = 2 * SNAPSHOT_EVERY + 99;
  const want = foldTo(f, at);
  assertEquals(JSON.parse(JSON.stringify(stateAt(f, at))), want);
  const good = Deno.readFileSync(f + SEEK_SUFFIX);
  // The same bytes labelled version 1, with a valid table CRC: another version, so stale.
  const old = good.slice();
  putU32(old, 4, 1);
  const tableEnd = 28 + getU32(old, 24) * 24;
  putU32(old, tableEnd, crc32c(old, 0, 0, tableEnd));
  Deno.writeFileSync(f + SEEK_SUFFIX, old);
  // A new process would read the file; in this one the cache must not hide it: a fresh path (same bytes) does.
  const g = `${dir}/v1-copy.lstrace`;
  Deno.copyFileSync(f, g);
  Deno.writeFileSync(g + SEEK_SUFFIX, old);
  assertEquals(JSON.parse(JSON.stringify(stateAt(g, at))), want);
  assertEquals(Deno.readFileSync(g + SEEK_SUFFIX), good, "rebuilt as version 2, byte for byte");
  // An entry out of order (with its CRC fixed): the table is refused and rebuilt.
  const h = `${dir}/v1-order.lstrace`;
  Deno.copyFileSync(f, h);
  const bad = good.slice();
  bad.set(good.subarray(28 + 24, 28 + 32), 28 + 48); // entry 2's index := entry 1's
  putU32(bad, tableEnd, crc32c(bad, 0, 0, tableEnd));
  Deno.writeFileSync(h + SEEK_SUFFIX, bad);
  assertEquals(JSON.parse(JSON.stringify(stateAt(h, at))), want);
  assertEquals(Deno.readFileSync(h + SEEK_SUFFIX), good);
});
