/**
 * The native handle of a node:zlib zstd stream, as deflate.ts and inflate.ts
 * drive it directly (the calls Node's own `zstdCompressSync` and
 * `zstdDecompressSync` make, lib/zlib.js processChunkSync): one place that
 * names the internals both rely on and checks they are there.
 * @module
 */

/** The native handle methods used (Node's ZstdCompress / ZstdDecompress binding). */
export interface ZstdHandle {
  writeSync(
    flush: number,
    input: Uint8Array,
    inOff: number,
    inLen: number,
    out: Uint8Array,
    outOff: number,
    outLen: number,
  ): void;
  reset(): void;
  onerror: (message: string) => void;
}

/** A stream opened for direct use: the stream is kept so nothing of it is collected while its handle is in use. */
export interface DrivenStream {
  readonly stream: unknown;
  readonly handle: ZstdHandle;
  /** `_writeState`: [output bytes left, input bytes left] after each writeSync. */
  readonly state: Uint32Array;
  /** The stream's finish flag (ZSTD_e_end). */
  readonly flush: number;
}

/**
 * Opens `make()`'s stream for direct use, its errors reported through
 * `onError` (the stream must not turn them into events); null when the
 * internals are missing or differ (the callers then take the public path).
 */
export function driveStream(make: () => unknown, onError: () => void): DrivenStream | null {
  try {
    const stream = make() as Record<string, unknown>;
    const handle = stream._handle as ZstdHandle | undefined;
    const state = stream._writeState;
    const flush = stream._finishFlushFlag;
    if (
      typeof handle?.writeSync !== "function" || typeof handle.reset !== "function" ||
      !(state instanceof Uint32Array) || state.length < 2 || typeof flush !== "number"
    ) {
      return null;
    }
    handle.onerror = onError;
    return { stream, handle, state, flush };
  } catch {
    return null;
  }
}
