/**
 * libzstd's own decompressor as WebAssembly (format/_zstd_wasm.ts), for a
 * process that inflates only a few blocks (`replay --at`, a first view):
 * compiling the module and inflating one block costs a fraction of loading
 * node:zlib (Deno's Node polyfill graph), and V8's baseline wasm compiler
 * runs it at near native speed from the first call, where JavaScript would
 * still be interpreted (a TypeScript decoder written from RFC 8878 was
 * measured and dropped for that: see docs/results/replay-read-path.md).
 *
 * One instance per thread, made on first use; its memory holds one input and
 * one output buffer, allocated once. `ZSTD_decompress` reads every frame of
 * the input one after another (skippable frames skipped), as node:zlib's
 * streaming decoder does, and refuses more output than its capacity.
 * @module
 */
import { ZSTD_WASM_BASE64 } from "./_zstd_wasm.ts";

/** The module's exports this wrapper calls (Emscripten's C ABI: pointers and sizes are i32). */
interface ZstdExports {
  memory: WebAssembly.Memory;
  malloc(bytes: number): number;
  ZSTD_decompress(dst: number, dstCapacity: number, src: number, srcBytes: number): number;
  ZSTD_isError(code: number): number;
}

/** Largest input and output: a block's stored and raw payloads are at most 256 KiB (format.ts). */
const INPUT_MAX_BYTES = 256 * 1024;
const OUTPUT_MAX_BYTES = 256 * 1024;

/** Decompresses zstd frames with the wasm libzstd; not reentrant, one per thread. */
export class WasmZstd {
  readonly #x: ZstdExports;
  readonly #inPtr: number;
  readonly #outPtr: number;

  constructor() {
    const module = new WebAssembly.Module(Uint8Array.fromBase64(ZSTD_WASM_BASE64));
    const instance = new WebAssembly.Instance(module, {
      // Emscripten tells of a grown memory; the views below are made per call, so there is nothing to redo.
      env: { emscripten_notify_memory_growth: () => {} },
    });
    const x = instance.exports as unknown as ZstdExports;
    this.#x = x;
    this.#inPtr = x.malloc(INPUT_MAX_BYTES);
    this.#outPtr = x.malloc(OUTPUT_MAX_BYTES);
    if (this.#inPtr === 0 || this.#outPtr === 0) throw new Error("zstd wasm: no memory for its buffers");
  }

  /**
   * Decompresses the zstd frames in `src[start, end)` into `dst[0, ...)`;
   * returns the number of bytes, or -1 when libzstd refuses them (damage,
   * or more than `dstMax` bytes of output), or -2 when the input is larger
   * than this decoder's buffer (the caller takes another path).
   */
  decompress(src: Uint8Array, start: number, end: number, dst: Uint8Array, dstMax: number): number {
    if (!(dstMax >= 0 && dstMax <= dst.length && start >= 0 && start <= end && end <= src.length)) {
      throw new RangeError("zstd wasm: bad bounds");
    }
    const n = end - start;
    if (n > INPUT_MAX_BYTES || dstMax > OUTPUT_MAX_BYTES) return -2;
    const x = this.#x;
    let heap = new Uint8Array(x.memory.buffer);
    heap.set(src.subarray(start, end), this.#inPtr);
    const r = x.ZSTD_decompress(this.#outPtr, dstMax, this.#inPtr, n);
    if (x.ZSTD_isError(r) !== 0) return -1;
    if (r < 0 || r > dstMax) return -1; // never, per libzstd's contract: checked all the same
    heap = new Uint8Array(x.memory.buffer); // (a grown memory has a new buffer)
    dst.set(heap.subarray(this.#outPtr, this.#outPtr + r));
    return r;
  }
}
