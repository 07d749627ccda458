/**
 * The writer's zstd level per block (recorder/writer.ts ZSTD_LEVEL_FAST):
 * the first block at the dense level, then each block at the dense level
 * exactly when the block before it came out above
 * DENSE_ABOVE_BYTES_PER_EVENT stored bytes per event. Each block's frame is
 * compressed again from its raw payload at both levels to tell which one the
 * writer used.
 */
import { assert, assertEquals } from "./_assert.ts";
import { recordRun } from "../cli/run.ts";
import { BLOCK_HEADER_BYTES, BLOCK_MAGIC, CODEC_ZSTD } from "../format/format.ts";
import { ZstdDeflater } from "../format/deflate.ts";
import { ZstdInflater } from "../format/inflate.ts";
import { DENSE_ABOVE_BYTES_PER_EVENT, ZSTD_LEVEL_DENSE, ZSTD_LEVEL_FAST } from "../recorder/writer.ts";
import { tempDir } from "./_tmp.ts";

interface Block {
  level: number;
  events: number;
  stored: number;
}

/** Each block of `file` with the level its frame was made at (-1: neither level gives those bytes). */
function blockLevels(file: string): Block[] {
  const b = Deno.readFileSync(file);
  const dv = new DataView(b.buffer);
  const fast = new ZstdDeflater(ZSTD_LEVEL_FAST), dense = new ZstdDeflater(ZSTD_LEVEL_DENSE);
  const inflater = new ZstdInflater(0);
  const raw = new Uint8Array(1 << 20), again = new Uint8Array(1 << 20);
  let p = 0;
  while (p + 4 <= b.length && dv.getUint32(p, true) !== BLOCK_MAGIC) p++;
  const out: Block[] = [];
  while (p + BLOCK_HEADER_BYTES <= b.length && dv.getUint32(p, true) === BLOCK_MAGIC) {
    const stored = dv.getUint32(p + 4, true), events = dv.getUint32(p + 8, true), rawLen = dv.getUint32(p + 28, true);
    assertEquals(b[p + 32], CODEC_ZSTD, "every block of these runs is compressed");
    const frame = b.subarray(p + BLOCK_HEADER_BYTES, p + BLOCK_HEADER_BYTES + stored);
    assertEquals(inflater.inflate(b, p + BLOCK_HEADER_BYTES, p + BLOCK_HEADER_BYTES + stored, raw, rawLen), rawLen);
    let level = -1;
    for (const [l, d] of [[ZSTD_LEVEL_FAST, fast], [ZSTD_LEVEL_DENSE, dense]] as const) {
      const n = d.deflate(raw, 0, rawLen, again, 0, again.length - 1);
      if (n === stored && again.subarray(0, n).every((x, i) => x === frame[i])) level = l;
    }
    out.push({ level, events, stored });
    p += BLOCK_HEADER_BYTES + stored;
  }
  return out;
}

Deno.test("writer: zstd level per block, dense after a block above the budget, fast otherwise", () => {
  const dir = tempDir("lockstep-level-");
  const seen = new Set<number>();
  for (const scenario of ["splice-tcp", "mutex-storm", "splice-refrace-tcp"]) {
    const file = `${dir}/${scenario}.lstrace`;
    recordRun({ scenario, seed: 1, overrides: { "sim.durationNs": "20000000" }, out: file });
    const blocks = blockLevels(file);
    assert(blocks.length >= 3, `${scenario}: several blocks (${blocks.length})`);
    assertEquals(blocks[0].level, ZSTD_LEVEL_DENSE, `${scenario}: the first block at the dense level`);
    for (let i = 1; i < blocks.length; i++) {
      const prev = blocks[i - 1];
      const want = prev.stored > DENSE_ABOVE_BYTES_PER_EVENT * prev.events ? ZSTD_LEVEL_DENSE : ZSTD_LEVEL_FAST;
      assertEquals(blocks[i].level, want, `${scenario} block ${i}`);
      seen.add(blocks[i].level);
    }
  }
  assertEquals([...seen].sort(), [ZSTD_LEVEL_FAST, ZSTD_LEVEL_DENSE].sort(), "both levels met after a first block");
});
