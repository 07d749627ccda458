/**
 * The BSD radix tree of routing tables (NetBSD sys/net/radix.c 1.31, the 4.4BSD
 * code: `rn_match`, `rn_addroute`, `rn_insert`), over IPv4 keys, for the route
 * lookup comparison against ptree.
 *
 * Kept from radix.c:
 * - internal nodes test one bit (`rn_b`, `rn_bmask`, `rn_off`) over the
 *   distinct *keys* (network addresses); routes with the same key hang off
 *   one leaf as a `rn_dupedkey` chain, most specific first;
 * - the tree starts with the two RNF_ROOT end markers (all zeros, all ones)
 *   under the top node (`rn_inithead0`); the default route is a duped key of
 *   the zeros marker;
 * - each non-host route's mask is attached to the `rn_mklist` of the highest
 *   ancestor whose bit index is at or past the mask's index, unless its leaf's
 *   parent already tests a bit before it ("can't lift at all"), the invariant
 *   `rn_addroute` and its "promote general routes from below" maintain;
 * - `rn_match`: descend to a leaf without looking at masks (`rn_search`),
 *   compare the key with the leaf's key byte by byte up to the leaf's mask
 *   length, and on a difference compute the first differing bit, try the
 *   leaf's duped-key chain, then walk *up* through every ancestor trying its
 *   mask list (IPv4 masks are contiguous, RNF_NORMAL: the test is
 *   `rn_b <= rm_b`, no rn_search_m).
 *
 * Sockaddr details are dropped (keys are 32-bit words, bit 0 the most
 * significant address bit, so the top tests bit 0 instead of `rn_off` 32).
 * The tree is built from sorted routes in one pass; its shape and mask lists
 * are those incremental insertion gives.
 *
 * @example
 * ```ts
 * import { RadixTree } from "./radix.ts";
 * const t = new RadixTree({ keys: new Uint32Array([0x0a000000, 0x0a010000]), lens: new Uint8Array([8, 16]) });
 * t.lookup(0x0a010203); // 1
 * t.lookup(0x0a020304); // 0
 * ```
 * @module
 */
import { clz32, type RouteTable } from "./route_table.ts";
import type { LookupCost } from "./ptree.ts";

/** The tree. */
export class RadixTree {
  /** Internal nodes plus leaves (end markers included). */
  readonly size: number;
  /** Mask list entries (struct radix_mask). */
  readonly masks: number;
  /** What the last lookup cost. */
  readonly last: LookupCost = { nodes: 0, keyCmps: 0 };
  // Nodes: internal (bit >= 0) or leaf (bit = -1). Leaf i's chain of routes is
  // chainRoutes[chainStart[i] .. chainStart[i + 1]), most specific first.
  readonly #bit: Int8Array;
  readonly #key: Uint32Array;
  readonly #left: Int32Array;
  readonly #right: Int32Array;
  readonly #parent: Int32Array;
  readonly #chainStart: Int32Array;
  readonly #chainRoutes: Int32Array;
  // rn_mklist per internal node: mkStart[x] .. mkStart[x + 1] in mkRoutes (most specific first).
  readonly #mkStart: Int32Array;
  readonly #mkRoutes: Int32Array;
  readonly #top: number;
  readonly #t: RouteTable;
  #n = 0;

  /** Builds the tree of table `t` (sorted by key, then length; no duplicates). */
  constructor(t: RouteTable) {
    this.#t = t;
    const nr = t.keys.length;
    // Distinct keys, with the two end markers.
    const uniq: number[] = [];
    const firstRoute: number[] = [];
    if (nr === 0 || t.keys[0] !== 0) {
      uniq.push(0);
      firstRoute.push(nr);
    }
    for (let i = 0; i < nr; i++) {
      if (i === 0 || t.keys[i] !== t.keys[i - 1]) {
        uniq.push(t.keys[i]);
        firstRoute.push(i);
      }
    }
    if (uniq[uniq.length - 1] !== 0xffffffff) {
      uniq.push(0xffffffff);
      firstRoute.push(nr);
    }
    firstRoute.push(nr);
    const nk = uniq.length;
    const cap = 2 * nk;
    this.#bit = new Int8Array(cap);
    this.#key = new Uint32Array(cap);
    this.#left = new Int32Array(cap).fill(-1);
    this.#right = new Int32Array(cap).fill(-1);
    this.#parent = new Int32Array(cap).fill(-1);
    this.#chainStart = new Int32Array(cap + 1);
    this.#chainRoutes = new Int32Array(nr);
    const leafOfKey = new Int32Array(nk);
    this.#top = this.#build(uniq, 0, nk, leafOfKey);
    this.#parent[this.#top] = this.#top; // rn_inithead0: t->rn_p = t
    this.size = this.#n;
    // Duped-key chains: routes of one key sorted most specific first (longest length).
    let w = 0;
    const chainOf = new Int32Array(this.#n + 1).fill(-1);
    for (let u = 0; u < nk; u++) chainOf[leafOfKey[u]] = u;
    for (let x = 0; x < this.#n; x++) {
      this.#chainStart[x] = w;
      const u = chainOf[x];
      if (u < 0) continue;
      for (let i = firstRoute[u + 1] - 1; i >= firstRoute[u]; i--) {
        if (i < nr && t.keys[i] === uniq[u]) this.#chainRoutes[w++] = i;
      }
    }
    this.#chainStart[this.#n] = w;
    // Mask lists (the invariant of rn_addroute's on2 loop).
    const mkCount = new Int32Array(this.#n + 1);
    const target = new Int32Array(nr).fill(-1);
    for (let u = 0; u < nk; u++) {
      const leaf = leafOfKey[u];
      for (let i = firstRoute[u]; i < firstRoute[u + 1] && i < nr; i++) {
        if (t.keys[i] !== uniq[u] || t.lens[i] === 32) continue; // host routes carry no mask
        const b = t.lens[i];
        let tt = this.#parent[leaf];
        if (b > this.#bit[tt]) continue; // can't lift at all
        let x: number;
        do {
          x = tt;
          tt = this.#parent[tt];
        } while (b <= this.#bit[tt] && x !== this.#top);
        target[i] = x;
        mkCount[x]++;
      }
    }
    this.#mkStart = new Int32Array(this.#n + 1);
    for (let x = 0; x < this.#n; x++) this.#mkStart[x + 1] = this.#mkStart[x] + mkCount[x];
    this.masks = this.#mkStart[this.#n];
    this.#mkRoutes = new Int32Array(this.masks);
    const fill = this.#mkStart.slice(0, this.#n);
    for (let i = 0; i < nr; i++) if (target[i] >= 0) this.#mkRoutes[fill[target[i]]++] = i;
    // Most specific first within each list (rn_addroute keeps them sorted by rm_b).
    for (let x = 0; x < this.#n; x++) {
      const a = this.#mkStart[x], z = this.#mkStart[x + 1];
      if (z - a > 1) this.#mkRoutes.subarray(a, z).sort((p, q) => t.lens[q] - t.lens[p]);
    }
  }

  /** rn_match: the route id of the longest matching prefix, -1 for none. */
  lookup(v: number): number {
    const bit = this.#bit, lens = this.#t.lens;
    let nodes = 0, keyCmps = 0;
    let x = this.#top;
    while (bit[x] >= 0) { // rn_search
      nodes++;
      x = ((v >>> (31 - bit[x])) & 1) === 0 ? this.#left[x] : this.#right[x];
    }
    nodes++;
    keyCmps++; // the byte loop against the leaf's key
    const cs = this.#chainStart[x], ce = this.#chainStart[x + 1];
    const head = cs < ce ? this.#chainRoutes[cs] : -1;
    // An end marker (RNF_ROOT, no mask) heads the chains of 0.0.0.0 and 255.255.255.255.
    const marker = this.#key[x] === 0 || this.#key[x] === 0xffffffff;
    const headLen = !marker && head >= 0 && lens[head] < 32 ? lens[head] : 32;
    // "vlen = *t->rn_mask": bytes compared up to the head's mask length.
    const cmpBits = Math.min(32, (headLen + 7) & ~7);
    const diff = (v ^ this.#key[x]) >>> 0;
    const b = diff === 0 ? 32 : clz32(diff);
    let found = -1;
    if (b >= cmpBits) {
      // Matched as far as compared: the chain head, or past an end marker its
      // first duped key. An end marker alone is returned as such, and rtalloc
      // reads RNF_ROOT as no route: so 255.255.255.255 finds no route even
      // under a covering prefix or the default (radix.c's "extra grot").
      found = head;
    } else {
      // on1: try the duped-key chain (a host route or marker at its head is skipped), then climb.
      for (let i = cs; i < ce && found < 0; i++) {
        const r = this.#chainRoutes[i];
        if (lens[r] === 32) continue;
        nodes++;
        if (lens[r] <= b) found = r; // RNF_NORMAL: rn_b <= t->rn_b
      }
      let t = x;
      while (found < 0) {
        t = this.#parent[t];
        nodes++;
        for (let i = this.#mkStart[t]; i < this.#mkStart[t + 1]; i++) {
          nodes++; // each struct radix_mask is one more dependent load
          const r = this.#mkRoutes[i];
          if (lens[r] <= b) {
            found = r;
            break;
          }
        }
        if (t === this.#top) break;
      }
    }
    this.last.nodes = nodes;
    this.last.keyCmps = keyCmps;
    return found;
  }

  /** Builds the subtree of distinct keys [lo, hi) (rn_insert's shape: one internal node per first differing bit). */
  #build(keys: number[], lo: number, hi: number, leafOf: Int32Array): number {
    const x = this.#n++;
    if (hi - lo === 1) {
      this.#bit[x] = -1;
      this.#key[x] = keys[lo];
      leafOf[lo] = x;
      return x;
    }
    const b = clz32((keys[lo] ^ keys[hi - 1]) >>> 0);
    this.#bit[x] = b;
    this.#key[x] = keys[lo];
    let split = lo;
    while (split < hi && ((keys[split] >>> (31 - b)) & 1) === 0) split++;
    const l = this.#build(keys, lo, split, leafOf), r = this.#build(keys, split, hi, leafOf);
    this.#left[x] = l;
    this.#right[x] = r;
    this.#parent[l] = x;
    this.#parent[r] = x;
    return x;
  }
}
