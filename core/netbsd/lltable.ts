/**
 * NetBSD's link-layer address table of one interface and family
 * (`struct lltable`, sys/net/if_llatbl.h 1.2.2.5): today's NetBSD keeps ARP
 * and ND entries here, out of the routing table (no cloned routes since
 * 2015). For IPv4 it is a hash of `IN_LLTBL_DEFAULT_HSIZE` (32) buckets,
 * each a LIST of `llentry`s; `IN_LLTBL_HASH` folds the address's four bytes
 * with XOR (sys/netinet/in.c 1.161); `lltable_link_entry` inserts at the
 * head of its bucket (LIST_INSERT_HEAD) and a lookup walks the bucket
 * comparing addresses (`in_lltable_find_dst`).
 *
 * The same interface as the route trees for exact /32 keys (insert, remove,
 * lookup, `last` cost), so a scenario can swap it in as its nexthop cache.
 * A lookup's `nodes` are the bucket head load plus each entry compared.
 *
 * @example
 * ```ts
 * import { LlTable } from "./lltable.ts";
 * const t = new LlTable(1000);
 * t.insert(0x0a000001, 32, 7);
 * t.lookup(0x0a000001); // 7
 * ```
 * @module
 */

/** IN_LLTBL_DEFAULT_HSIZE (sys/netinet/in.c 1.161). */
export const LLTBL_HSIZE = 32;

/** IN_LLTBL_HASH(k, h): the four bytes of `k` folded with XOR, masked to `h` buckets. */
export function llHash(k: number, h: number): number {
  return (((((((k >>> 8) ^ k) >>> 8) ^ k) >>> 8) ^ k) & (h - 1)) >>> 0;
}

/** A per-interface lltable over at most `cap` entries (slots are the ids' table, allocated once). */
export class LlTable {
  /** What the last lookup cost: `nodes` bucket head plus entries compared; `keyCmps` always 0. */
  readonly last = { nodes: 0, keyCmps: 0 };
  readonly #head = new Int32Array(LLTBL_HSIZE).fill(-1);
  readonly #next: Int32Array;
  readonly #key: Uint32Array;
  readonly #id: Int32Array;
  #free = -1;
  #n = 0;
  #count = 0;

  /** An empty table with room for `cap` entries. */
  constructor(cap: number) {
    if (!Number.isInteger(cap) || cap < 1) throw new RangeError(`lltable: capacity ${cap}`);
    this.#next = new Int32Array(cap).fill(-1);
    this.#key = new Uint32Array(cap);
    this.#id = new Int32Array(cap);
  }

  /** Entries linked (`llt_lle_count`). */
  get routes(): number {
    return this.#count;
  }

  /** Entries linked (one llentry each; the bucket heads are a fixed array). */
  get size(): number {
    return this.#count;
  }

  /** lla_lookup: the id of the entry for `addr`, -1 for none. */
  lookup(addr: number): number {
    let nodes = 1; // the bucket head
    for (let e = this.#head[llHash(addr, LLTBL_HSIZE)]; e >= 0; e = this.#next[e]) {
      nodes++;
      if (this.#key[e] === addr >>> 0) {
        this.last.nodes = nodes;
        this.last.keyCmps = 0;
        return this.#id[e];
      }
    }
    this.last.nodes = nodes;
    this.last.keyCmps = 0;
    return -1;
  }

  /** lla_create + lltable_link_entry of host `key` (`len` must be 32): false when already there. */
  insert(key: number, len: number, id: number): boolean {
    if (len !== 32) throw new RangeError(`lltable: host entries only, not /${len}`);
    if (this.lookup(key) >= 0) return false;
    let e = this.#free;
    if (e >= 0) this.#free = this.#next[e];
    else {
      if (this.#n === this.#next.length) throw new RangeError("lltable: full");
      e = this.#n++;
    }
    const b = llHash(key, LLTBL_HSIZE);
    this.#key[e] = key >>> 0;
    this.#id[e] = id;
    this.#next[e] = this.#head[b]; // LIST_INSERT_HEAD
    this.#head[b] = e;
    this.#count++;
    return true;
  }

  /** lltable_free_entry of host `key`: its id, or -1 when it is not there. */
  remove(key: number, len: number): number {
    if (len !== 32) throw new RangeError(`lltable: host entries only, not /${len}`);
    const b = llHash(key, LLTBL_HSIZE);
    for (let prev = -1, e = this.#head[b]; e >= 0; prev = e, e = this.#next[e]) {
      if (this.#key[e] !== key >>> 0) continue;
      if (prev < 0) this.#head[b] = this.#next[e];
      else this.#next[prev] = this.#next[e]; // LIST_REMOVE
      const id = this.#id[e];
      this.#next[e] = this.#free;
      this.#free = e;
      this.#count--;
      return id;
    }
    return -1;
  }
}
