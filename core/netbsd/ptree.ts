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
 * Insertion ({@link PTree.insert}) and removal ({@link PTree.remove}) make
 * the shape changes of `ptree_insert_node_common` / `ptree_insert_leaf` and
 * `ptree_remove_node` (common/lib/libc/gen/ptree.c 1.5.8.3; the kernel builds
 * the same file): a new two-way branch at the first differing bit
 * (`ptree_insert_branch_at_node`), a mask inserted in front of the subtree it
 * covers (`ptree_insert_mask_before_node`), a mask leaf turned into a one-way
 * branch when a more specific route goes below it
 * (`ptree_insert_leaf_after_mask`); on removal an interior mask node is
 * replaced by its child ("trivial to get rid of"), a leaf's two-way parent by
 * the surviving sibling (`GB = { PB = { X, TL } } --> GB = { X }`), and a
 * one-way mask parent left without a child turns back into a leaf
 * (`GB = { PB = { TL } } --> GB = { PL }`).
 *
 * What differs: ptree.c embeds one node in each item and gives every item a
 * leaf and a branch identity, so removal also hands the target's branching
 * duties to its parent (`ptree_move_branch`) and nothing is allocated; here
 * nodes sit in typed arrays (a table of a million routes must not be a
 * million objects) with a free list, so a branch is a node of its own and
 * those identity moves, which change no path, have no counterpart. A table
 * given to the constructor is built in one pass from sorted routes, the shape
 * inserting them one by one gives.
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
import { clz32, maskOf, type RouteTable } from "./route_table.ts";

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
  /** What the last lookup cost. */
  readonly last: LookupCost = { nodes: 0, keyCmps: 0 };
  #kind: Uint8Array;
  #bitoff: Uint8Array;
  #key: Uint32Array;
  #child: Int32Array;
  #route: Int32Array;
  #root = -1;
  readonly #ops: PtTreeOps;
  #n = 0; // nodes ever allocated (high-water mark of the arrays)
  #free = -1; // free list of nodes, linked through child slot 0
  #freeCount = 0;
  #routes = 0;

  /** Builds the tree of table `t` (sorted by key, then length; no duplicates); route ids are its indexes. */
  constructor(t: RouteTable = EMPTY, ops: PtTreeOps = PT_IPV4_OPS) {
    const n = t.keys.length;
    const cap = Math.max(16, 2 * n + 1);
    this.#kind = new Uint8Array(cap);
    this.#bitoff = new Uint8Array(cap);
    this.#key = new Uint32Array(cap);
    this.#child = new Int32Array(2 * cap).fill(-1);
    this.#route = new Int32Array(cap).fill(-1);
    this.#ops = ops;
    if (n > 0) this.#root = this.#build(t, 0, n, 0);
    this.#routes = n;
  }

  /** Nodes in the tree (branches, mask nodes and leaves). */
  get size(): number {
    return this.#n - this.#freeCount;
  }

  /** Routes in the tree. */
  get routes(): number {
    return this.#routes;
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

  /**
   * Inserts route `id` for `key`/`len` (ptree_insert_mask_node, or
   * ptree_insert_node for a /32). False, and nothing changed, when the prefix
   * is already in the tree (ptree.c refuses duplicates the same way).
   */
  insert(key: number, len: number, id: number): boolean {
    assertPrefix(key, len);
    if (!Number.isInteger(id) || id < 0) throw new RangeError(`ptree insert: route id ${id}`);
    const ops = this.#ops; // (no array cached: an allocation may grow them)
    let loc = -1; // where the pointer to x lives: -1 the root, else a child slot
    let x = this.#root;
    while (x >= 0) {
      const k = this.#kind[x];
      const span = k === HOST_LEAF ? 32 : this.#bitoff[x]; // bits every route below x shares
      const d = ops.matchnode(key, this.#key[x], 0);
      if (d < len && d < span) {
        // ptree_insert_branch_at_node: the new route parts from x's subtree at bit d.
        const leaf = this.#leaf(key, len, id);
        const br = this.#alloc();
        this.#kind[br] = BRANCH;
        this.#bitoff[br] = d;
        this.#key[br] = key;
        const s = ops.testkey(key, d);
        this.#child[2 * br + s] = leaf;
        this.#child[2 * br + (s ^ 1)] = x;
        this.#setLoc(loc, br);
        this.#routes++;
        return true;
      }
      if (len < span || (len === span && k === BRANCH)) {
        // ptree_insert_mask_before_node: the new prefix covers x's whole subtree.
        const mk = this.#alloc();
        this.#kind[mk] = MASK_BRANCH;
        this.#bitoff[mk] = len;
        this.#key[mk] = key;
        this.#route[mk] = id;
        this.#child[2 * mk] = x;
        this.#setLoc(loc, mk);
        this.#routes++;
        return true;
      }
      // The new route agrees with everything below x on x's span.
      if (len === span) return false; // the same prefix (a mask node or a host route of this key)
      if (k === MASK_LEAF) {
        // ptree_insert_leaf_after_mask: the mask leaf becomes a one-way branch over the new leaf.
        const leaf = this.#leaf(key, len, id);
        this.#kind[x] = MASK_BRANCH;
        this.#child[2 * x] = leaf;
        this.#routes++;
        return true;
      }
      loc = k === MASK_BRANCH ? 2 * x : 2 * x + ops.testkey(key, span);
      x = this.#child[loc];
    }
    this.#root = this.#leaf(key, len, id); // the first route: the root points at its leaf
    this.#routes++;
    return true;
  }

  /** Removes the route of `key`/`len` (ptree_remove_node); its id, or -1 when it is not in the tree. */
  remove(key: number, len: number): number {
    assertPrefix(key, len);
    const ops = this.#ops;
    let ploc = -2, loc = -1; // the pointer to the parent, the pointer to x (-1 the root)
    let x = this.#root;
    while (x >= 0) {
      const k = this.#kind[x];
      if (k === MASK_LEAF || k === HOST_LEAF) break;
      const b = this.#bitoff[x];
      if (k === MASK_BRANCH) {
        if (b === len && this.#key[x] === key) {
          // "Interior mask nodes are trivial to get rid of": whoever pointed at it now points at its child.
          const id = this.#route[x];
          this.#setLoc(loc, this.#child[2 * x]);
          this.#release(x);
          this.#routes--;
          return id;
        }
        if (b >= len) return -1;
        ploc = loc;
        loc = 2 * x;
      } else {
        if (b >= len) return -1; // a branch at or past the prefix's length: the prefix would sit above it
        ploc = loc;
        loc = 2 * x + ops.testkey(key, b);
      }
      x = this.#child[loc];
    }
    if (x < 0) return -1;
    const leafLen = this.#kind[x] === HOST_LEAF ? 32 : this.#bitoff[x];
    if (this.#key[x] !== key || leafLen !== len) return -1;
    const id = this.#route[x];
    if (loc === -1) {
      this.#root = -1; // the last leaf: the tree is empty
    } else {
      const p = loc >> 1;
      if (this.#kind[p] === MASK_BRANCH) {
        // The parent was a one-way branch over this leaf only: it changes back to a leaf.
        this.#kind[p] = this.#bitoff[p] === 32 ? HOST_LEAF : MASK_LEAF;
        this.#child[2 * p] = -1;
      } else {
        // The normal case: the parent branch goes, the sibling takes its place.
        this.#setLoc(ploc, this.#child[loc ^ 1]);
        this.#release(p);
      }
    }
    this.#release(x);
    this.#routes--;
    return id;
  }

  #leaf(key: number, len: number, id: number): number {
    const x = this.#alloc();
    this.#kind[x] = len === 32 ? HOST_LEAF : MASK_LEAF;
    this.#bitoff[x] = len;
    this.#key[x] = key;
    this.#route[x] = id;
    return x;
  }

  #setLoc(loc: number, x: number): void {
    if (loc === -1) this.#root = x;
    else this.#child[loc] = x;
  }

  #alloc(): number {
    let x = this.#free;
    if (x >= 0) {
      this.#free = this.#child[2 * x];
      this.#freeCount--;
    } else {
      if (this.#n === this.#kind.length) this.#grow();
      x = this.#n++;
    }
    this.#child[2 * x] = -1;
    this.#child[2 * x + 1] = -1;
    this.#route[x] = -1;
    return x;
  }

  #release(x: number): void {
    this.#child[2 * x] = this.#free;
    this.#child[2 * x + 1] = -1;
    this.#route[x] = -1;
    this.#free = x;
    this.#freeCount++;
  }

  #grow(): void {
    const cap = this.#kind.length * 2;
    const g8 = (a: Uint8Array) => {
      const b = new Uint8Array(cap);
      b.set(a);
      return b;
    };
    this.#kind = g8(this.#kind);
    this.#bitoff = g8(this.#bitoff);
    const key = new Uint32Array(cap);
    key.set(this.#key);
    this.#key = key;
    const child = new Int32Array(2 * cap).fill(-1);
    child.set(this.#child);
    this.#child = child;
    const route = new Int32Array(cap).fill(-1);
    route.set(this.#route);
    this.#route = route;
  }

  /** Builds the subtree of routes [lo, hi), all agreeing on their first `d` bits. */
  #build(t: RouteTable, lo: number, hi: number, d: number): number {
    const keys = t.keys, lens = t.lens;
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
      this.#child[2 * x] = this.#build(t, lo + 1, hi, minLen);
      return x;
    }
    // Every route is longer than `differ` and they differ there: a two-way branch.
    this.#kind[x] = BRANCH;
    this.#bitoff[x] = differ;
    let split = lo;
    while (split < hi && this.#ops.testkey(keys[split], differ) === 0) split++;
    this.#child[2 * x] = this.#build(t, lo, split, differ + 1);
    this.#child[2 * x + 1] = this.#build(t, split, hi, differ + 1);
    return x;
  }
}

const EMPTY: RouteTable = { keys: new Uint32Array(0), lens: new Uint8Array(0) };

/** A prefix must be masked (no bits past its length) and 0..32 long. */
export function assertPrefix(key: number, len: number): void {
  if (!Number.isInteger(len) || len < 0 || len > 32) throw new RangeError(`prefix length ${len} not in 0..32`);
  if (!Number.isInteger(key) || key < 0 || key > 0xffffffff || ((key & ~maskOf(len)) >>> 0) !== 0) {
    throw new RangeError(`prefix key ${key} has bits past /${len}`);
  }
}
