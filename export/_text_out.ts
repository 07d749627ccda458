/**
 * Chunked text output to a file or stdout ("-"): exports build lines into a
 * string and flush it every 64 KiB, so memory stays bounded on any trace.
 * @module
 */

const CHUNK_CHARS = 64 * 1024;

/** A buffered text sink. */
export class TextOut {
  readonly #out: Deno.FsFile | typeof Deno.stdout;
  readonly #toStdout: boolean;
  readonly #enc = new TextEncoder();
  #chunk = "";
  /** Bytes written so far. */
  bytes = 0;

  /** Opens `path` for writing (truncating), or stdout for "-". */
  constructor(path: string) {
    this.#toStdout = path === "-";
    this.#out = this.#toStdout ? Deno.stdout : Deno.openSync(path, { write: true, create: true, truncate: true });
  }

  /** Appends text; flushes when the chunk is full. */
  write(s: string): void {
    this.#chunk += s;
    if (this.#chunk.length >= CHUNK_CHARS) this.flush();
  }

  /** Writes out what is buffered. */
  flush(): void {
    const data = this.#enc.encode(this.#chunk);
    this.#chunk = "";
    this.bytes += data.length;
    for (let done = 0; done < data.length;) done += this.#out.writeSync(data.subarray(done));
  }

  /** Flushes and closes (stdout stays open). */
  close(): void {
    this.flush();
    if (!this.#toStdout) (this.#out as Deno.FsFile).close();
  }
}
