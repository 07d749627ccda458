/**
 * A PATRICIA tree over IPv4 prefixes, as NetBSD's ptree(3)/ptree(9)
 * (common/lib/libc/gen/ptree.c, sys/sys/ptree.h 1.4) organises one, for the
 * route lookup comparison of the infrastructure document.
 *
 * What is kept from ptree.c:
 * - a branch tests one bit (`ptn_branchdata`: bit offset, bit length 1) and
 *   the path is compressed: bits skipped between two branches are checked
 *   against the node's key with one XOR and a count of leading zeros
 *   (`ptto_matchkey`), the operation the document puts at the heart of the
 *   design;
 * - a prefix is a *mask node* (`ptree_insert_mask_node`, PTN_MASK_FLAG): a
 *   one-way branch at bit offset = mask length whose subtree holds the more
 *   specific prefixes, or a leaf when there are none;
 * - `ptree_find_filtered_node` descends once, remembering the last mask node
 *   it passed; on a mismatch it returns that mask: no backtracking.
 * The key operations are the four functions of `pt_tree_ops_t`
 * ({@link PT_IPV4_OPS}: matchnode, matchkey, testnode, testkey).
 *
 * What differs: ptree.c embeds one node in each item and gives every item a
 * leaf and a branch identity; here nodes sit in typed arrays (a table of a
 * million routes must not be a million objects) and a table is built in one
 * pass from sorted routes (routes are loaded before the run), which gives the
 * same shape as inserting them one by one.
 *
 * @example
 * ```ts
 * import { PTree } from "./ptree.ts";
 * const t = new PTree({ keys: new Uint32Array([0x0a000000, 0x0a010000]), lens: new Uint8Array([8, 16]) });
 * t.lookup(0x0a010203); // 1 (10.1.0.0/16)
 * t.lookup(0x0a020304); // 0 (10.0.0.0/8)
 * ```
 * @module
 */
import { clz32, type RouteTable } from "./route_table.ts";

/** Bit numbering as ptree.h: "All bit offsets are relative to the most significant bit of the key". */
export interface PtTreeOps {
  /** ptto_matchnode: the first bit at or after `from` where two keys differ (32 when equal). */
  matchnode(a: number, b: number, from: number): number;
  /** ptto_matchkey: do `key` and `nodeKey` agree on `len` bits starting at `off`? */
  matchkey(key: number, nodeKey: number, off: number, len: number): boolean;
  /** ptto_testnode: which slot a node's key takes at bit `off`. */
  testnode(nodeKey: number, off: number): number;
  /** ptto_testkey: which slot a search key takes at bit `off`. */
  testkey(key: number, off: number): number;
}

/** The IPv4 key operations: XOR and count leading zeros. */
export const PT_IPV4_OPS: PtTreeOps = {
  matchnode(a, b, from) {
    const x = from >= 32 ? 0 : ((a ^ b) << from) >>> 0;
    return x === 0 ? 32 : from + clz32(x);
  },
  matchkey(key, nodeKey, off, len) {
    if (len === 0) return true;
    const x = ((key ^ nodeKey) << off) >>> 0;
    return clz32(x) >= len;
  },
  testnode(nodeKey, off) {
    return (nodeKey >>> (31 - off)) & 1;
  },
  testkey(key, off) {
    return (key >>> (31 - off)) & 1;
  },
};

const BRANCH = 0, MASK_BRANCH = 1, MASK_LEAF = 2, HOST_LEAF = 3;

/** A lookup's answer and what it cost. */
export interface LookupCost {
  /** Nodes visited by the last lookup. */
  nodes: number;
  /** Key comparisons by the last lookup (radix only; ptree compares with XOR at each node). */
  keyCmps: number;
}

/** The tree. */
export class PTree {
  /** Nodes allocated. */
  readonly size: number;
  /** What the last lookup cost. */
  readonly last: LookupCost = { nodes: 0, keyCmps: 0 };
  readonly #kind: Uint8Array;
  readonly #bitoff: Uint8Array;
  readonly #key: Uint32Array;
  readonly #child: Int32Array;
  readonly #route: Int32Array;
  readonly #root: number;
  readonly #ops: PtTreeOps;
  #n = 0;
  readonly #t: RouteTable;

  /** Builds the tree of table `t` (sorted by key, then length; no duplicates). */
  constructor(t: RouteTable, ops: PtTreeOps = PT_IPV4_OPS) {
    const n = t.keys.length;
    const cap = 2 * n + 1;
    this.#kind = new Uint8Array(cap);
    this.#bitoff = new Uint8Array(cap);
    this.#key = new Uint32Array(cap);
    this.#child = new Int32Array(2 * cap).fill(-1);
    this.#route = new Int32Array(cap).fill(-1);
    this.#ops = ops;
    this.#t = t;
    this.#root = n === 0 ? -1 : this.#build(0, n, 0);
    this.size = this.#n;
  }

  /** The route id of the longest prefix matching `addr`, -1 for none (ptree_find_filtered_node). */
  lookup(addr: number): number {
    const ops = this.#ops, kind = this.#kind, bitoffs = this.#bitoff, keys = this.#key, child = this.#child;
    let nodes = 0, mask = -1, bitoff = 0, x = this.#root;
    let found = -1;
    while (x >= 0) {
      nodes++;
      const k = kind[x];
      const b = bitoffs[x];
      if (k === MASK_LEAF || k === HOST_LEAF) {
        // At the leaf: the bits not yet checked decide (matchkey up to the mask or the whole key).
        const len = k === HOST_LEAF ? 32 : b;
        if (len <= bitoff || ops.matchkey(addr, keys[x], bitoff, len - bitoff)) found = this.#route[x];
        break;
      }
      if (bitoff < b) {
        if (!ops.matchkey(addr, keys[x], bitoff, b - bitoff)) break; // skipped bits differ
        bitoff = b;
      }
      if (k === MASK_BRANCH) {
        mask = this.#route[x]; // a one-way branch: remember the mask, go on below it
        x = child[2 * x];
        continue;
      }
      x = child[2 * x + ops.testkey(addr, bitoff)];
      bitoff++;
    }
    this.last.nodes = nodes;
    this.last.keyCmps = 0;
    return found >= 0 ? found : mask;
  }

  /** Builds the subtree of routes [lo, hi), all agreeing on their first `d` bits. */
  #build(lo: number, hi: number, d: number): number {
    const keys = this.#t.keys, lens = this.#t.lens;
    // The first bit where the routes part: where keys differ, or where the shortest ends.
    let minLen = 32, minAt = lo;
    for (let i = lo; i < hi; i++) {
      if (lens[i] < minLen) {
        minLen = lens[i];
        minAt = i;
      }
    }
    const differ = hi - lo > 1 ? this.#ops.matchnode(keys[lo], keys[hi - 1], d) : 32;
    const x = this.#n++;
    this.#key[x] = keys[lo];
    if (minLen <= differ) {
      // The shortest route ends here: a mask node (a host route when it is /32).
      this.#kind[x] = minLen === 32 ? HOST_LEAF : MASK_LEAF;
      this.#bitoff[x] = minLen === 32 ? 32 : minLen;
      this.#key[x] = keys[minAt];
      this.#route[x] = minAt;
      if (hi - lo === 1) return x;
      this.#kind[x] = MASK_BRANCH;
      // In (key, len) order the mask route comes first: every route here shares
      // its first minLen bits and its key has zeros after them.
      if (minAt !== lo) throw new Error(`ptree build: mask route ${minAt} is not first of [${lo}, ${hi})`);
      this.#child[2 * x] = this.#build(lo + 1, hi, minLen);
      return x;
    }
    // Every route is longer than `differ` and they differ there: a two-way branch.
    this.#kind[x] = BRANCH;
    this.#bitoff[x] = differ;
    let split = lo;
    while (split < hi && this.#ops.testkey(keys[split], differ) === 0) split++;
    this.#child[2 * x] = this.#build(lo, split, differ + 1);
    this.#child[2 * x + 1] = this.#build(split, hi, differ + 1);
    return x;
  }
}
