/**
 * Where the writer's bytes go: an open file (synchronous writes, so a block
 * is whole on disk before the next is encoded) or a growable memory buffer.
 *
 * @module
 */

/** A destination of whole chunks of bytes. */
export interface ByteSink {
  /** Appends all of `bytes` (the caller may reuse the buffer afterwards). */
  write(bytes: Uint8Array): void;
  /** Releases the destination. */
  close(): void;
}

/** Most attempts at a partial write before giving up (a write that makes no progress). */
const WRITE_ATTEMPTS_MAX = 1_000_000;

/** A file opened for writing, written with `writeSync`. */
export class FileSink implements ByteSink {
  readonly #file: Deno.FsFile;
  #closed = false;

  /** Creates or truncates `path`; with `append`, opens the existing file and writes after its end. */
  constructor(path: string, append = false) {
    this.#file = append
      ? Deno.openSync(path, { append: true })
      : Deno.openSync(path, { write: true, create: true, truncate: true });
  }

  write(bytes: Uint8Array): void {
    let done = 0;
    for (let attempt = 0; done < bytes.length; attempt++) {
      if (attempt >= WRITE_ATTEMPTS_MAX) throw new Error("trace writer: write makes no progress");
      done += this.#file.writeSync(bytes.subarray(done));
    }
  }

  /** Closes the file; a second call does nothing. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#file.close();
  }
}

/** A growable in-memory buffer; `bytes()` returns what was written. */
export class MemorySink implements ByteSink {
  #buf: Uint8Array;
  #len = 0;

  constructor(capacity = 1 << 16) {
    this.#buf = new Uint8Array(capacity);
  }

  write(bytes: Uint8Array): void {
    const need = this.#len + bytes.length;
    if (need > this.#buf.length) {
      let cap = this.#buf.length * 2;
      while (cap < need) cap *= 2;
      const grown = new Uint8Array(cap);
      grown.set(this.#buf.subarray(0, this.#len));
      this.#buf = grown;
    }
    this.#buf.set(bytes, this.#len);
    this.#len = need;
  }

  close(): void {}

  /** The bytes written so far (a view; copy it to keep it past further writes). */
  bytes(): Uint8Array {
    return this.#buf.subarray(0, this.#len);
  }
}
