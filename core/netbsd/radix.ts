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
 * Insertion ({@link RadixTree.insert}) and deletion ({@link RadixTree.remove})
 * follow `rn_addroute`/`rn_insert` and `rn_delete` (NetBSD sys/net/radix.c as
 * in NetBSD/src 03d5d34f): a new key gets a leaf and an internal node at its
 * first differing bit, placed where the bit indexes pass it, and that node
 * takes over the masks of the subtree below it that now lift to it ("Promote
 * general routes from below"); a duplicated key joins the leaf's duped-key
 * chain, most specific first; a route with a mask is entered on the list of
 * the highest ancestor it can lift to (on2). Deletion takes the route's mask
 * entry off that ancestor's list, unlinks it from the duped-key chain, and
 * when the chain is empty removes the leaf and its parent, the sibling taking
 * the parent's place, the parent's mask list appended to the sibling's or,
 * when the sibling is a leaf, freed with its routes' annotations ("Demote
 * routes attached to us"). The end markers (RNF_ROOT) are never removed.
 *
 * Sockaddr details are dropped (keys are 32-bit words, bit 0 the most
 * significant address bit, so the top tests bit 0 instead of `rn_off` 32).
 * Nodes sit in typed arrays with a free list, the duped-key chains and mask
 * lists are linked through per-route arrays (one `radix_mask` per route, as
 * for contiguous masks), and the pairing of each leaf with an internal node
 * in one allocation (`rn_newpair`, the node swap at the end of rn_delete) has
 * no counterpart: it moves no path. A table given to the constructor is
 * built in one pass from sorted routes; its shape and mask lists are those
 * incremental insertion gives.
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
import { assertPrefix, type LookupCost } from "./ptree.ts";

/** The tree. */
export class RadixTree {
  /** What the last lookup cost. */
  readonly last: LookupCost = { nodes: 0, keyCmps: 0 };
  // Nodes: internal (bit >= 0) or leaf (bit = -1).
  #bit: Int8Array;
  #key: Uint32Array;
  #left: Int32Array;
  #right: Int32Array;
  #parent: Int32Array;
  /** A leaf's duped-key chain: its first route (most specific), -1 for none. */
  #dupHead: Int32Array;
  /** rn_mklist per internal node: its first route's mask entry (most specific first), -1 for none. */
  #mkHead: Int32Array;
  // Per route id: prefix length, next in its duped-key chain, next on its mask list, whether it has a mask entry.
  #rLen: Uint8Array;
  #rNext: Int32Array;
  #mkNext: Int32Array;
  #rMk: Uint8Array;
  readonly #top: number;
  #n = 0;
  #free = -1; // free nodes, linked through #left
  #freeCount = 0;
  #masks = 0;
  #routes = 0;

  /** Builds the tree of table `t` (sorted by key, then length; no duplicates); route ids are its indexes. */
  constructor(t: RouteTable = EMPTY) {
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
    const cap = Math.max(16, 2 * nk);
    this.#bit = new Int8Array(cap);
    this.#key = new Uint32Array(cap);
    this.#left = new Int32Array(cap).fill(-1);
    this.#right = new Int32Array(cap).fill(-1);
    this.#parent = new Int32Array(cap).fill(-1);
    this.#dupHead = new Int32Array(cap).fill(-1);
    this.#mkHead = new Int32Array(cap).fill(-1);
    const rcap = Math.max(16, nr);
    this.#rLen = new Uint8Array(rcap);
    this.#rNext = new Int32Array(rcap).fill(-1);
    this.#mkNext = new Int32Array(rcap).fill(-1);
    this.#rMk = new Uint8Array(rcap);
    this.#rLen.set(t.lens);
    this.#routes = nr;
    const leafOfKey = new Int32Array(nk);
    this.#top = this.#build(uniq, 0, nk, leafOfKey);
    this.#parent[this.#top] = this.#top; // rn_inithead0: t->rn_p = t
    // Duped-key chains, most specific (longest) first: pushed front from the least specific.
    for (let u = 0; u < nk; u++) {
      const leaf = leafOfKey[u];
      for (let i = firstRoute[u]; i < firstRoute[u + 1] && i < nr; i++) {
        if (t.keys[i] !== uniq[u]) continue;
        this.#rNext[i] = this.#dupHead[leaf];
        this.#dupHead[leaf] = i;
      }
    }
    // Mask lists (the invariant of rn_addroute's on2 loop), most specific first:
    // routes pushed front in order of increasing length.
    const target = new Int32Array(nr).fill(-1);
    for (let u = 0; u < nk; u++) {
      const leaf = leafOfKey[u];
      for (let i = firstRoute[u]; i < firstRoute[u + 1] && i < nr; i++) {
        if (t.keys[i] !== uniq[u] || t.lens[i] === 32) continue; // host routes carry no mask
        target[i] = this.#liftTarget(leaf, t.lens[i]);
      }
    }
    for (let len = 0; len < 32; len++) {
      for (let i = 0; i < nr; i++) {
        if (t.lens[i] !== len || target[i] < 0) continue;
        this.#mkNext[i] = this.#mkHead[target[i]];
        this.#mkHead[target[i]] = i;
        this.#rMk[i] = 1;
        this.#masks++;
      }
    }
  }

  /** Internal nodes plus leaves (end markers included). */
  get size(): number {
    return this.#n - this.#freeCount;
  }

  /** Mask list entries (struct radix_mask). */
  get masks(): number {
    return this.#masks;
  }

  /** Routes in the tree. */
  get routes(): number {
    return this.#routes;
  }

  /** rn_match: the route id of the longest matching prefix, -1 for none. */
  lookup(v: number): number {
    const bit = this.#bit, lens = this.#rLen, next = this.#rNext, mkNext = this.#mkNext;
    let nodes = 0, keyCmps = 0;
    let x = this.#top;
    while (bit[x] >= 0) { // rn_search
      nodes++;
      x = ((v >>> (31 - bit[x])) & 1) === 0 ? this.#left[x] : this.#right[x];
    }
    nodes++;
    keyCmps++; // the byte loop against the leaf's key
    const head = this.#dupHead[x];
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
      for (let r = head; r >= 0 && found < 0; r = next[r]) {
        if (lens[r] === 32) continue;
        nodes++;
        if (lens[r] <= b) found = r; // RNF_NORMAL: rn_b <= t->rn_b
      }
      let t = x;
      while (found < 0) {
        t = this.#parent[t];
        nodes++;
        for (let r = this.#mkHead[t]; r >= 0; r = mkNext[r]) {
          nodes++; // each struct radix_mask is one more dependent load
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

  /** rn_addroute: adds route `id` for `key`/`len`; false, nothing changed, when the prefix is already there. */
  insert(key: number, len: number, id: number): boolean {
    assertPrefix(key, len);
    if (!Number.isInteger(id) || id < 0) throw new RangeError(`radix insert: route id ${id}`);
    if (id >= this.#rLen.length) this.#growRoutes(id + 1);
    let leaf = this.#search(key);
    let t: number;
    if (this.#key[leaf] === key) {
      // keyduplicated: into the chain, most specific first; the same mask is a duplicate.
      let prev = -1, r = this.#dupHead[leaf];
      for (; r >= 0; prev = r, r = this.#rNext[r]) {
        if (this.#rLen[r] === len) return false;
        if (this.#rLen[r] < len) break;
      }
      this.#rLen[id] = len;
      this.#rNext[id] = r;
      if (prev < 0) this.#dupHead[leaf] = id;
      else this.#rNext[prev] = id;
      t = this.#parent[leaf];
    } else {
      // rn_insert: a leaf and an internal node at the first differing bit, below the last node testing an earlier bit.
      const b = clz32((key ^ this.#key[leaf]) >>> 0);
      let p = this.#top, x = this.#childOf(p, key);
      while (this.#bit[x] >= 0 && this.#bit[x] < b) {
        p = x;
        x = this.#childOf(x, key);
      }
      leaf = this.#alloc();
      this.#bit[leaf] = -1;
      this.#key[leaf] = key;
      this.#rLen[id] = len;
      this.#rNext[id] = -1;
      this.#dupHead[leaf] = id;
      t = this.#alloc();
      this.#bit[t] = b;
      this.#key[t] = key;
      if (((key >>> (31 - b)) & 1) === 0) {
        this.#left[t] = leaf;
        this.#right[t] = x;
      } else {
        this.#left[t] = x;
        this.#right[t] = leaf;
      }
      if (this.#left[p] === x) this.#left[p] = t;
      else this.#right[p] = t;
      this.#parent[t] = p;
      this.#parent[x] = t;
      this.#parent[leaf] = t;
      // Promote general routes from below: the sibling's masks that now lift to t.
      if (this.#bit[x] < 0) {
        let tail = -1;
        for (let r = this.#dupHead[x]; r >= 0; r = this.#rNext[r]) {
          if (this.#rLen[r] === 32 || this.#rLen[r] > b || this.#rMk[r] !== 0) continue;
          this.#mkNext[r] = -1;
          if (tail < 0) this.#mkHead[t] = r;
          else this.#mkNext[tail] = r;
          tail = r;
          this.#rMk[r] = 1;
          this.#masks++;
        }
      } else {
        let prev = -1, m = this.#mkHead[x];
        while (m >= 0 && this.#rLen[m] > b) { // skip over masks more specific than the new node
          prev = m;
          m = this.#mkNext[m];
        }
        this.#mkHead[t] = m;
        if (prev < 0) this.#mkHead[x] = -1;
        else this.#mkNext[prev] = -1;
      }
    }
    this.#routes++;
    // on2: the new route's mask on the highest ancestor's list it can lift to.
    if (len === 32 || len > this.#bit[t]) return true; // a host route, or can't lift at all
    let x: number;
    do {
      x = t;
      t = this.#parent[t];
    } while (len <= this.#bit[t] && x !== this.#top);
    let prev = -1, m = this.#mkHead[x];
    while (m >= 0 && this.#rLen[m] >= len) {
      prev = m;
      m = this.#mkNext[m];
    }
    this.#mkNext[id] = m;
    if (prev < 0) this.#mkHead[x] = id;
    else this.#mkNext[prev] = id;
    this.#rMk[id] = 1;
    this.#masks++;
    return true;
  }

  /** rn_delete: removes the route of `key`/`len`; its id, or -1 when it is not in the tree. */
  remove(key: number, len: number): number {
    assertPrefix(key, len);
    const leaf = this.#search(key);
    if (this.#key[leaf] !== key) return -1;
    let prev = -1, r = this.#dupHead[leaf];
    while (r >= 0 && this.#rLen[r] !== len) {
      prev = r;
      r = this.#rNext[r];
    }
    if (r < 0) return -1;
    // Delete our route from mask lists: from the ancestor on2 lifted it to.
    if (this.#rMk[r] !== 0) {
      let t = this.#parent[leaf], x: number;
      do {
        x = t;
        t = this.#parent[t];
      } while (len <= this.#bit[t] && x !== this.#top);
      let mp = -1, m = this.#mkHead[x];
      while (m >= 0 && m !== r) {
        mp = m;
        m = this.#mkNext[m];
      }
      if (m !== r) throw new Error(`rn_delete: couldn't find our annotation (route ${r})`);
      if (mp < 0) this.#mkHead[x] = this.#mkNext[r];
      else this.#mkNext[mp] = this.#mkNext[r];
      this.#mkNext[r] = -1;
      this.#rMk[r] = 0;
      this.#masks--;
    }
    // Off the duped-key chain.
    if (prev < 0) this.#dupHead[leaf] = this.#rNext[r];
    else this.#rNext[prev] = this.#rNext[r];
    this.#rNext[r] = -1;
    this.#routes--;
    const k = this.#key[leaf];
    if (this.#dupHead[leaf] >= 0 || k === 0 || k === 0xffffffff) return r; // keys remain, or an end marker (RNF_ROOT)
    // Eliminate the leaf and its parent: the sibling takes the parent's place.
    const t = this.#parent[leaf];
    const x = this.#left[t] === leaf ? this.#right[t] : this.#left[t];
    const p = this.#parent[t];
    if (this.#right[p] === t) this.#right[p] = x;
    else this.#left[p] = x;
    this.#parent[x] = p;
    // Demote routes attached to us.
    if (this.#mkHead[t] >= 0) {
      if (this.#bit[x] >= 0) {
        let tail = this.#mkHead[x];
        if (tail < 0) this.#mkHead[x] = this.#mkHead[t];
        else {
          while (this.#mkNext[tail] >= 0) tail = this.#mkNext[tail];
          this.#mkNext[tail] = this.#mkHead[t];
        }
      } else {
        // The sibling is a leaf: the masks were its own routes', which cannot lift now.
        for (let m = this.#mkHead[t]; m >= 0;) {
          const mm = this.#mkNext[m];
          if (!this.#inChain(x, m)) throw new Error(`rn_delete: Orphaned Mask (route ${m})`);
          this.#mkNext[m] = -1;
          this.#rMk[m] = 0;
          this.#masks--;
          m = mm;
        }
      }
      this.#mkHead[t] = -1;
    }
    this.#release(leaf);
    this.#release(t);
    return r;
  }

  /** rn_search: the leaf a key descends to, masks not looked at. */
  #search(key: number): number {
    let x = this.#top;
    while (this.#bit[x] >= 0) x = this.#childOf(x, key);
    return x;
  }

  #childOf(x: number, key: number): number {
    return ((key >>> (31 - this.#bit[x])) & 1) === 0 ? this.#left[x] : this.#right[x];
  }

  #inChain(leaf: number, r: number): boolean {
    for (let q = this.#dupHead[leaf]; q >= 0; q = this.#rNext[q]) if (q === r) return true;
    return false;
  }

  /** The node a mask of length `b` at `leaf` is listed on (on2), -1 when it cannot lift. */
  #liftTarget(leaf: number, b: number): number {
    let tt = this.#parent[leaf];
    if (b > this.#bit[tt]) return -1; // can't lift at all
    let x: number;
    do {
      x = tt;
      tt = this.#parent[tt];
    } while (b <= this.#bit[tt] && x !== this.#top);
    return x;
  }

  #alloc(): number {
    let x = this.#free;
    if (x >= 0) {
      this.#free = this.#left[x];
      this.#freeCount--;
    } else {
      if (this.#n === this.#bit.length) this.#grow();
      x = this.#n++;
    }
    this.#left[x] = -1;
    this.#right[x] = -1;
    this.#parent[x] = -1;
    this.#dupHead[x] = -1;
    this.#mkHead[x] = -1;
    return x;
  }

  #release(x: number): void {
    this.#left[x] = this.#free;
    this.#right[x] = -1;
    this.#parent[x] = -1;
    this.#free = x;
    this.#freeCount++;
  }

  #grow(): void {
    const cap = this.#bit.length * 2;
    const i32 = (a: Int32Array) => {
      const b = new Int32Array(cap).fill(-1);
      b.set(a);
      return b;
    };
    const bit = new Int8Array(cap);
    bit.set(this.#bit);
    this.#bit = bit;
    const key = new Uint32Array(cap);
    key.set(this.#key);
    this.#key = key;
    this.#left = i32(this.#left);
    this.#right = i32(this.#right);
    this.#parent = i32(this.#parent);
    this.#dupHead = i32(this.#dupHead);
    this.#mkHead = i32(this.#mkHead);
  }

  #growRoutes(need: number): void {
    let cap = this.#rLen.length;
    while (cap < need) cap *= 2;
    const i32 = (a: Int32Array) => {
      const b = new Int32Array(cap).fill(-1);
      b.set(a);
      return b;
    };
    const len = new Uint8Array(cap);
    len.set(this.#rLen);
    this.#rLen = len;
    const mk = new Uint8Array(cap);
    mk.set(this.#rMk);
    this.#rMk = mk;
    this.#rNext = i32(this.#rNext);
    this.#mkNext = i32(this.#mkNext);
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

const EMPTY: RouteTable = { keys: new Uint32Array(0), lens: new Uint8Array(0) };
