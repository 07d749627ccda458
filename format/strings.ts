/**
 * The reader's string table: interned strings by id, each with the index of
 * the str-def event that defined it, so a reference can be checked to come
 * after its definition even when the table was loaded from the footer.
 *
 * @module
 */
import { STRING_TABLE_MAX_BYTES, STRINGS_MAX } from "./format.ts";

/** Result of {@link StringTable.define}. */
export type DefineResult = "new" | "same" | "conflict" | "full";

/** Strings by id. */
export class StringTable {
  readonly #slot = new Map<number, number>();
  readonly #texts: string[] = [];
  readonly #defIndex: number[] = [];
  #bytes = 0;

  /** Number of strings. */
  get size(): number {
    return this.#texts.length;
  }

  /** The text of string `id`, or undefined. */
  text(id: number): string | undefined {
    const slot = this.#slot.get(id);
    return slot === undefined ? undefined : this.#texts[slot];
  }

  /** Whether string `id` was defined by an event before event `index`. */
  definedBefore(id: number, index: number): boolean {
    const slot = this.#slot.get(id);
    return slot !== undefined && this.#defIndex[slot] < index;
  }

  /**
   * Records that event `index` defines `id` as `text` ("same" when that exact
   * definition is already known, e.g. from the footer; "conflict" when `id`
   * means something else; "full" past the limits).
   */
  define(id: number, text: string, index: number, utf8Bytes: number): DefineResult {
    const slot = this.#slot.get(id);
    if (slot !== undefined) {
      return this.#texts[slot] === text && this.#defIndex[slot] === index ? "same" : "conflict";
    }
    if (this.#texts.length >= STRINGS_MAX || this.#bytes + utf8Bytes > STRING_TABLE_MAX_BYTES) return "full";
    this.#slot.set(id, this.#texts.length);
    this.#texts.push(text);
    this.#defIndex.push(index);
    this.#bytes += utf8Bytes;
    return "new";
  }
}
