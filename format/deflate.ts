/**
 * zstd compression of block payloads into the writer's own output buffer,
 * reusing one compression context for every block: the encoder's twin of
 * inflate.ts.
 *
 * `zstdCompressSync` of node:zlib builds a stream object and a native
 * context on every call and returns a new buffer: per 64 KiB block that fixed
 * cost was about as large as compressing the block. This drives the native
 * handle of one `createZstdCompress()` stream directly (`_handle.writeSync`
 * with the stream's finish flag, `_writeState`), one frame per block after
 * a reset, at the same level and with the very calls Node's own
 * `zstdCompressSync` makes (lib/zlib.js processChunkSync: 16 KiB output
 * windows), so the frames are the same bytes (tests/format_deflate_test.ts
 * compares the two, the golden traces the files). When those internals are
 * missing or misbehave it falls back to `zstdCompressSync` plus a copy.
 *
 * @module
 */
import { constants as zlibConstants, createZstdCompress, zstdCompressSync } from "node:zlib";
import { type DrivenStream, driveStream } from "./_zstd_handle.ts";

/** Most native calls one frame may take (each fills an output window). */
const CALLS_MAX = 1024;

/** Output bytes per native call: Node's default chunk size (zlib.constants.Z_DEFAULT_CHUNK), as zstdCompressSync uses. */
const OUT_WINDOW = 16 * 1024;

/**
 * Compresses one zstd frame per call into the caller's buffer at a fixed
 * level. Not reentrant (one native context); cheap to keep one per thread.
 */
export class ZstdDeflater {
  readonly #level: number;
  /** The stream driven directly, or null before the first block or after its path failed. */
  #d: DrivenStream | null = null;
  #failed = false;
  /** True once the direct path proved unusable here: every later call takes the fallback. */
  #fallback = false;
  readonly #window = new Uint8Array(OUT_WINDOW);

  constructor(level: number) {
    this.#level = level;
  }

  /**
   * Compresses `src[start, end)` as one zstd frame into `dst` at `dstOff`;
   * returns its length, or -1 when the frame would be longer than `max` bytes
   * (the caller then stores the bytes raw). `dst` must have room for
   * `max + 1` bytes at `dstOff`.
   */
  deflate(src: Uint8Array, start: number, end: number, dst: Uint8Array, dstOff: number, max: number): number {
    if (!(start >= 0 && start <= end && end <= src.length && max >= 0 && dstOff >= 0 && dstOff + max < dst.length)) {
      throw new RangeError("zstd deflate: bad bounds");
    }
    if (!this.#fallback) {
      const n = this.#direct(src, start, end, dst, dstOff, max);
      if (n !== -2) return n;
      this.#fallback = true;
    }
    const z = zstdCompressSync(src.subarray(start, end), this.#options());
    if (z.length > max) return -1;
    dst.set(z, dstOff);
    return z.length;
  }

  #options() {
    return { params: { [zlibConstants.ZSTD_c_compressionLevel]: this.#level } };
  }

  /**
   * Through the native handle; -2 when that path is not available (the
   * fallback then compresses the block). The calls are exactly those of
   * Node's zstdCompressSync (lib/zlib.js processChunkSync): the whole rest of
   * the input and a fresh {@link OUT_WINDOW}-byte output window each time,
   * until a call leaves room in its window. zstd's output depends on the
   * window sizes it is given, so the frames are the same bytes.
   */
  #direct(src: Uint8Array, start: number, end: number, dst: Uint8Array, dstOff: number, max: number): number {
    const d = this.#d ?? this.#open();
    if (d === null) return -2;
    const h = d.handle, st = d.state;
    const win = this.#window;
    let inOff = start, outLen = 0;
    this.#failed = false;
    try {
      h.reset();
      for (let calls = 0;; calls++) {
        if (calls === CALLS_MAX) return this.#lost();
        const inLen = end - inOff;
        h.writeSync(d.flush, src, inOff, inLen, win, 0, OUT_WINDOW);
        if (this.#failed) return this.#lost();
        const outLeft = st[0], inLeft = st[1];
        const produced = OUT_WINDOW - outLeft, consumed = inLen - inLeft;
        if (produced < 0 || consumed < 0 || produced > OUT_WINDOW || consumed > inLen) return this.#lost();
        if (outLen + produced > max) {
          h.reset(); // the frame is abandoned half made
          return -1;
        }
        dst.set(produced === OUT_WINDOW ? win : win.subarray(0, produced), dstOff + outLen);
        outLen += produced;
        inOff += consumed;
        // Room left in the window: zstd has ended the frame (Node stops here too).
        if (outLeft > 0) return outLen;
      }
    } catch {
      return this.#lost();
    }
  }

  /** The direct path misbehaved: drop it (the caller compresses this block and every later one the public way). */
  #lost(): number {
    this.#d = null;
    return -2;
  }

  #open(): DrivenStream | null {
    // Node's minimum chunk: the stream's own output buffer is never used.
    const d = driveStream(
      () => createZstdCompress({ chunkSize: 64, ...this.#options() }),
      () => void (this.#failed = true),
    );
    return (this.#d = d);
  }
}
