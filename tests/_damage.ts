/** Damaging trace files on purpose, walking the layout from the spec (docs/trace-format.md). */
import { assertEquals } from "./_assert.ts";
import { getU32 } from "../format/format.ts";

/** Flips one payload byte of block `b` of `file` (the layout walked from the spec: header, then blocks). */
export function damageBlock(file: string, b: number): void {
  const bytes = Deno.readFileSync(file);
  let off = 20 + getU32(bytes, 12);
  for (let i = 0; i < b; i++) {
    assertEquals(getU32(bytes, off), 0x4b42534c, "block magic");
    off += 40 + getU32(bytes, off + 4);
  }
  bytes[off + 40 + (getU32(bytes, off + 4) >> 1)] ^= 0x20;
  Deno.writeFileSync(file, bytes);
}
