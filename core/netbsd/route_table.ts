/**
 * IPv4 routing tables for the route lookup comparison: a random table with
 * an Internet-like prefix length mix, and the reference answer for a
 * longest-prefix match (an oracle independent of both trees).
 *
 * A table is two parallel arrays sorted by (key, length): `keys[i]` is the
 * network address (key & mask, so the bits past the length are zero) and
 * `lens[i]` the prefix length 0..32. Route ids are indexes into them.
 *
 * @example
 * ```ts
 * import { bruteForceMatch, LpmOracle, randomTable } from "./route_table.ts";
 * import { Prng } from "../prng.ts";
 * const t = randomTable(new Prng(1), 100, true);
 * const o = new LpmOracle(t);
 * o.match(0x0a000001) === bruteForceMatch(t, 0x0a000001); // true
 * ```
 * @module
 */
import type { Prng } from "../prng.ts";

/** The largest table a scenario may ask for. */
export const ROUTES_MAX = 1_000_000;

/** A routing table sorted by (key, length). */
export interface RouteTable {
  /** Network addresses, masked. */
  readonly keys: Uint32Array;
  /** Prefix lengths, 0..32. */
  readonly lens: Uint8Array;
}

/** The netmask of a prefix length (0 for /0). */
export function maskOf(len: number): number {
  return len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
}

/** Count of leading zeros of a 32-bit word: the seed document's `clz` (32 for 0). */
export function clz32(x: number): number {
  return Math.clz32(x);
}

/**
 * A random table of `n` distinct routes: lengths drawn with an Internet-like
 * mix (about half /24, most of the rest /16 to /23, a few /8 to /15 and host
 * routes), plus the default route when `withDefault`.
 */
export function randomTable(rng: Prng, n: number, withDefault: boolean): RouteTable {
  if (!Number.isInteger(n) || n < 1 || n > ROUTES_MAX) throw new RangeError(`routes: ${n} not in 1..${ROUTES_MAX}`);
  // Draw a little more than asked, sort by (key, len) packed in a double, drop duplicates.
  const want = n + (withDefault ? 1 : 0);
  let packed = new Float64Array(0);
  let have = 0;
  for (let draw = n; have < want; draw = Math.max(64, (want - have) * 2)) {
    const next = new Float64Array(have + draw + (withDefault ? 1 : 0));
    next.set(packed.subarray(0, have));
    let k = have;
    if (withDefault && have === 0) next[k++] = 0; // 0.0.0.0/0
    for (let i = 0; i < draw; i++) {
      const len = drawLen(rng);
      const key = (rng.below(0x100000000) & maskOf(len)) >>> 0;
      next[k++] = key * 64 + len;
    }
    next.subarray(0, k).sort();
    have = 0;
    for (let i = 0; i < k; i++) if (i === 0 || next[i] !== next[i - 1]) next[have++] = next[i];
    packed = next;
  }
  // Drop the surplus at random positions (never the default route at index 0).
  const drop = new Uint8Array(have);
  for (let extra = have - want; extra > 0;) {
    const i = (withDefault ? 1 : 0) + rng.below(have - (withDefault ? 1 : 0));
    if (drop[i] === 0) {
      drop[i] = 1;
      extra--;
    }
  }
  const keys = new Uint32Array(want), lens = new Uint8Array(want);
  for (let i = 0, k = 0; i < have; i++) {
    if (drop[i] !== 0) continue;
    keys[k] = Math.floor(packed[i] / 64);
    lens[k++] = packed[i] % 64;
  }
  return { keys, lens };
}

function drawLen(rng: Prng): number {
  const r = rng.below(1000);
  if (r < 500) return 24;
  if (r < 850) return 16 + rng.below(8); // /16../23
  if (r < 950) return 8 + rng.below(8); // /8../15
  if (r < 990) return 25 + rng.below(7); // /25../31
  return 32;
}

/** The route a linear scan finds for `addr`: the longest matching prefix, -1 for none. For small tables. */
export function bruteForceMatch(t: RouteTable, addr: number): number {
  let best = -1, bestLen = -1;
  for (let i = 0; i < t.keys.length; i++) {
    const len = t.lens[i];
    if (len > bestLen && ((addr & maskOf(len)) >>> 0) === t.keys[i]) {
      best = i;
      bestLen = len;
    }
  }
  return best;
}

/**
 * Longest-prefix match by trying every length from 32 down to 0 with a binary
 * search of the sorted table: slow and obviously right, independent of both
 * trees, and small enough in memory for a million routes.
 */
export class LpmOracle {
  readonly #t: RouteTable;
  /** Whether any route of each length exists (skips empty lengths). */
  readonly #present = new Uint8Array(33);

  /** An oracle over table `t`. */
  constructor(t: RouteTable) {
    this.#t = t;
    for (let i = 0; i < t.lens.length; i++) this.#present[t.lens[i]] = 1;
  }

  /** The route id of the longest prefix matching `addr`, -1 for none. */
  match(addr: number): number {
    for (let len = 32; len >= 0; len--) {
      if (this.#present[len] === 0) continue;
      const i = this.#find((addr & maskOf(len)) >>> 0, len);
      if (i >= 0) return i;
    }
    return -1;
  }

  #find(key: number, len: number): number {
    const keys = this.#t.keys, lens = this.#t.lens;
    let lo = 0, hi = keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (keys[mid] < key || (keys[mid] === key && lens[mid] < len)) lo = mid + 1;
      else hi = mid;
    }
    return lo < keys.length && keys[lo] === key && lens[lo] === len ? lo : -1;
  }
}
