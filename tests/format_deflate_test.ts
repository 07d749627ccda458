// format/deflate.ts must make the very frames zstdCompressSync makes (the
// trace bytes depend on it) and refuse a frame longer than the limit.
import { assert, assertEquals } from "./_assert.ts";
import { constants as zlibConstants, zstdCompressSync, zstdDecompressSync } from "node:zlib";
import { ZstdDeflater } from "../format/deflate.ts";
import { Prng } from "../core/prng.ts";

const opts = { params: { [zlibConstants.ZSTD_c_compressionLevel]: 1 } };

Deno.test("zstd deflater: the same frames as zstdCompressSync, block after block on one context", () => {
  const d = new ZstdDeflater(1);
  const rng = new Prng(7);
  const out = new Uint8Array(300_000);
  for (const size of [1, 2, 100, 4096, 65_536, 65_536 + 77, 262_144]) {
    // "mostly": frames of several 16 KiB output windows (zstdCompressSync's chunks), as real blocks make.
    for (const kind of ["zeros", "text", "random", "mixed", "mostly"]) {
      const src = new Uint8Array(size);
      for (let i = 0; i < size; i++) {
        src[i] = kind === "zeros"
          ? 0
          : kind === "text"
          ? 0x61 + (i * 7 + (i >> 5)) % 13
          : kind === "random"
          ? rng.below(256)
          : kind === "mixed"
          ? (i & 64) ? rng.below(4) : i & 0xff
          : rng.below(8) === 0
          ? rng.below(256)
          : (i * 31) & 0x3f;
      }
      const want = zstdCompressSync(src, opts);
      const max = size - 1;
      const n = d.deflate(src, 0, size, out, 40, Math.max(0, max));
      if (want.length > max) {
        assertEquals(n, -1, `${kind} ${size}: longer than the payload, refused`);
        continue;
      }
      assertEquals(n, want.length, `${kind} ${size}: length`);
      const got = out.subarray(40, 40 + n);
      assert(got.every((b, i) => b === want[i]), `${kind} ${size}: bytes`);
      assertEquals(zstdDecompressSync(got).length, size);
    }
  }
});

Deno.test("zstd deflater: a sub-range of the input, and a limit the frame just fits or just misses", () => {
  const d = new ZstdDeflater(1);
  const src = new TextEncoder().encode("lockstep ".repeat(5000));
  const want = zstdCompressSync(src.subarray(100, 40_100), opts);
  const out = new Uint8Array(50_000);
  assertEquals(d.deflate(src, 100, 40_100, out, 0, want.length), want.length, "exactly fits");
  assert(out.subarray(0, want.length).every((b, i) => b === want[i]));
  assertEquals(d.deflate(src, 100, 40_100, out, 0, want.length - 1), -1, "one byte short");
  // The context is clean again after a refused frame.
  assertEquals(d.deflate(src, 100, 40_100, out, 0, 40_000), want.length);
  assert(out.subarray(0, want.length).every((b, i) => b === want[i]));
});
