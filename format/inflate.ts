/**
 * zstd decompression of block payloads into a caller's buffer, reusing one
 * decompression context for every block.
 *
 * `zstdDecompressSync` of node:zlib builds a stream object, a native context
 * and fresh output buffers on every call, and hands back a new buffer: on
 * this machine that costs ~0.3 ms of fixed overhead per call and about as
 * much again in garbage collection, more than decompressing the 256 KiB
 * payload itself. node:zlib has no public way to decompress into a given
 * buffer, so this drives the native handle of one `createZstdDecompress()`
 * stream directly (`_handle.writeSync` and `_writeState`: the calls Node's own
 * `zstdDecompressSync` makes, lib/zlib.js processChunkSync, present in Node
 * 22.15+ and Deno 2). When those internals are missing or misbehave, it falls
 * back to `zstdDecompressSync` plus a copy, so the result is the same bytes
 * either way; only the speed differs.
 *
 * node:zlib itself is loaded only when a process inflates more than a few
 * frames: loading it (Deno's Node polyfill graph) costs about 45 ms in a new
 * process, as much as everything else a `replay --at` does after Deno's own
 * start. The first {@link WASM_FRAMES_MAX} frames of each inflater go through
 * libzstd's own decompressor compiled to WebAssembly
 * (format/_zstd_wasm_decoder.ts; the same bytes as node:zlib, tested on every
 * block of every golden trace); every later frame, and any frame the wasm
 * decoder refuses, through node:zlib, so damage gets exactly the answer it
 * always got.
 *
 * @module
 */
import { type DrivenStream, driveStream } from "./_zstd_handle.ts";
import { WasmZstd } from "./_zstd_wasm_decoder.ts";

/** Most native calls one frame may take: each consumes input or produces output, or the loop ends. */
const CALLS_MAX = 64;

/**
 * Frames each inflater hands to the wasm decoder before it turns to
 * node:zlib for good. A seek inflates one block, a viewer's first view a
 * few. Warm, the wasm decoder takes about 1.8 times as long as node:zlib's
 * native one (about 0.9 against 0.5 ms a 256 KiB block here), so a process
 * that reads a whole trace loads node:zlib after these and loses at most
 * a few milliseconds to them.
 */
export const WASM_FRAMES_MAX = 8;

/** What this module uses of node:zlib (declared here: not even a type import names it, so `deno info` shows none). */
interface NodeZlib {
  createZstdDecompress(options: { chunkSize: number }): unknown;
  zstdDecompressSync(input: Uint8Array, options: { maxOutputLength: number }): Uint8Array;
}

/** node:zlib, loaded on first use (synchronously, as `inflate` is: Node's `process.getBuiltinModule`, in Deno 2 too). */
let zlib: NodeZlib | null = null;
function nodeZlib(): NodeZlib {
  return zlib ??= process.getBuiltinModule("node:zlib") as NodeZlib;
}

/**
 * Decompresses one zstd frame per call into the caller's buffer. Not
 * reentrant (one native context); cheap to keep one per process.
 */
export class ZstdInflater {
  /** The stream driven directly, or null before the first block or after its path failed. */
  #d: DrivenStream | null = null;
  #failed = false;
  /** True once the direct path proved unusable here: every later call takes the fallback. */
  #fallback = false;
  #wasm: WasmZstd | null = null;
  #wasmFrames = 0;
  readonly #wasmFramesMax: number;

  /** `wasmFramesMax`: how many first frames go through the wasm decoder (0: node:zlib from the first). */
  constructor(wasmFramesMax = WASM_FRAMES_MAX) {
    if (!(Number.isSafeInteger(wasmFramesMax) && wasmFramesMax >= 0)) throw new RangeError("bad wasmFramesMax");
    this.#wasmFramesMax = wasmFramesMax;
  }

  /**
   * Decompresses the zstd frame in `src[start, end)` into `dst[0, ...)`;
   * returns the number of bytes it decompressed to, or -1 when the bytes are
   * not a zstd frame or it decompresses to more than `dstMax` bytes (at most
   * `dst.length`). A frame followed by other bytes, or two frames, count as
   * damage too (-1 or a length the caller refuses).
   */
  inflate(src: Uint8Array, start: number, end: number, dst: Uint8Array, dstMax: number): number {
    if (!(dstMax >= 0 && dstMax <= dst.length && start >= 0 && start <= end && end <= src.length)) {
      throw new RangeError("zstd inflate: bad bounds");
    }
    if (this.#wasmFrames < this.#wasmFramesMax) {
      this.#wasmFrames++;
      const n = (this.#wasm ??= new WasmZstd()).decompress(src, start, end, dst, dstMax);
      if (n >= 0) return n;
      // Refused (damage): node:zlib gives the answer, word for word the one a reader always gave.
    }
    if (!this.#fallback) {
      const n = this.#direct(src, start, end, dst, dstMax);
      if (n !== -2) return n;
      this.#fallback = true;
    }
    return viaSync(src.subarray(start, end), dst, dstMax);
  }

  /** Through the native handle; -2 when that path is not available. */
  #direct(src: Uint8Array, start: number, end: number, dst: Uint8Array, dstMax: number): number {
    const d = this.#d ?? this.#open();
    if (d === null) return -2;
    const h = d.handle, st = d.state;
    // Room for one byte past the limit, so a frame longer than allowed is seen as such.
    const cap = Math.min(dst.length, dstMax + 1);
    let inOff = start, outOff = 0;
    this.#failed = false;
    try {
      // A frame cut short leaves the context waiting for the rest of it: every frame starts from a clean one.
      h.reset();
      for (let calls = 0;; calls++) {
        if (calls === CALLS_MAX) return this.#broken();
        const inLen = end - inOff, outLen = cap - outOff;
        h.writeSync(d.flush, src, inOff, inLen, dst, outOff, outLen);
        if (this.#failed) return this.#broken();
        const produced = outLen - st[0], consumed = inLen - st[1];
        if (produced < 0 || consumed < 0 || produced > outLen || consumed > inLen) return -2;
        outOff += produced;
        inOff += consumed;
        if (outOff > dstMax) return this.#broken();
        if (inOff === end || (produced === 0 && consumed === 0)) break;
      }
    } catch {
      return this.#broken();
    }
    if (inOff !== end) return this.#broken();
    return outOff;
  }

  /** After damage the context is in an error state: reset it for the next frame. */
  #broken(): number {
    try {
      this.#d?.handle.reset();
    } catch {
      this.#d = null;
    }
    return -1;
  }

  #open(): DrivenStream | null {
    // Node's minimum chunk: the stream's own output buffer is never used.
    const d = driveStream(() => nodeZlib().createZstdDecompress({ chunkSize: 64 }), () => void (this.#failed = true));
    return (this.#d = d);
  }
}

function viaSync(stored: Uint8Array, dst: Uint8Array, dstMax: number): number {
  let out: Uint8Array;
  try {
    out = nodeZlib().zstdDecompressSync(stored, { maxOutputLength: Math.max(1, dstMax) });
  } catch {
    return -1;
  }
  if (out.length > dstMax) return -1;
  dst.set(out);
  return out.length;
}
