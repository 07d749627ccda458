/**
 * Random-access byte sources for the reader: a file read with synchronous
 * seeks and reads (memory stays bounded however large the file), or bytes
 * already in memory.
 *
 * @module
 */
import { TraceError } from "../format/error.ts";

/** Bytes the reader can read at any offset. */
export interface ByteSource {
  /** Size in bytes, fixed when opened. */
  readonly size: number;
  /** Copies `len` bytes at `pos` into `dst[0, len)`; the caller keeps `pos + len <= size`. */
  read(pos: number, dst: Uint8Array, len: number): void;
  close(): void;
}

/** Most reads one `read` call may take before a source that makes no progress is given up on. */
const READS_MAX = 1_000_000;

/** A file opened read-only. */
export class FileSource implements ByteSource {
  readonly size: number;
  readonly #file: Deno.FsFile;

  constructor(path: string) {
    this.#file = Deno.openSync(path, { read: true });
    try {
      this.size = this.#file.statSync().size;
    } catch (err) {
      this.#file.close();
      throw err;
    }
  }

  read(pos: number, dst: Uint8Array, len: number): void {
    this.#file.seekSync(pos, Deno.SeekMode.Start);
    let done = 0;
    for (let reads = 0; done < len; reads++) {
      const n = reads < READS_MAX ? this.#file.readSync(dst.subarray(done, len)) : null;
      if (n === null || n === 0) {
        throw new TraceError("truncated", `the file shrank while being read (wanted ${len} bytes)`, { offset: pos });
      }
      done += n;
    }
  }

  close(): void {
    this.#file.close();
  }
}

/** Bytes in memory. */
export class MemorySource implements ByteSource {
  readonly size: number;
  readonly #bytes: Uint8Array;

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
    this.size = bytes.length;
  }

  read(pos: number, dst: Uint8Array, len: number): void {
    dst.set(this.#bytes.subarray(pos, pos + len));
  }

  close(): void {}
}
