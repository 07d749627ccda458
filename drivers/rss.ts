/**
 * Receive side scaling: the Toeplitz hash over source address, destination
 * address, source port and destination port in network order, and a
 * 128-entry indirection table (reference section 5). With the Microsoft key,
 * 66.9.149.187:2794 -> 161.142.100.80:1766 hashes to 0x51ccc178 and the
 * addresses alone to 0x323e8fc2.
 *
 * @example
 * ```ts
 * import { rssHash4, ipv4 } from "./rss.ts";
 * rssHash4(ipv4("66.9.149.187"), ipv4("161.142.100.80"), 2794, 1766); // 0x51ccc178
 * ```
 * @module
 */

/** The Microsoft RSS verification key (40 bytes). */
export const MS_RSS_KEY: Uint8Array = hexBytes(
  "6d5a56da255b0ec24167253d43a38fb0d0ca2bcbae7b30b477cb2da38030f20c6a42b73bbeac01fa",
);

/** Size of the indirection table. */
export const RSS_TABLE_SIZE = 128;

function hexBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/**
 * Toeplitz hash of `input`: for each input bit from the most significant,
 * if it is 1, XOR in the leftmost 32 bits of the key; shift the key left by
 * one either way.
 */
export function toeplitz(input: Uint8Array, key: Uint8Array = MS_RSS_KEY): number {
  if (key.length < input.length + 4) throw new Error("toeplitz: key too short for input");
  let result = 0;
  // window holds the leftmost 32 key bits; next key bits are shifted in.
  let window = ((key[0] << 24) | (key[1] << 16) | (key[2] << 8) | key[3]) >>> 0;
  for (let i = 0; i < input.length; i++) {
    const nextByte = key[i + 4];
    for (let b = 7; b >= 0; b--) {
      if ((input[i] >> b) & 1) result = (result ^ window) >>> 0;
      window = ((window << 1) | ((nextByte >> b) & 1)) >>> 0;
    }
  }
  return result >>> 0;
}

/** An IPv4 address in dotted quad as a 32-bit number. */
export function ipv4(s: string): number {
  const p = s.split(".").map(Number);
  if (p.length !== 4 || p.some((x) => !Number.isInteger(x) || x < 0 || x > 255)) throw new Error(`bad IPv4 '${s}'`);
  return ((p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3]) >>> 0;
}

function put32(b: Uint8Array, off: number, v: number): void {
  b[off] = v >>> 24;
  b[off + 1] = (v >>> 16) & 255;
  b[off + 2] = (v >>> 8) & 255;
  b[off + 3] = v & 255;
}

/**
 * Per input byte position (12, a 4-tuple's bytes) and byte value, that
 * byte's share of the Toeplitz hash under MS_RSS_KEY: the hash is linear
 * (XOR) in its input, so a 4-tuple's hash is the XOR of its 12 bytes'
 * shares. Built at the first {@link rssHash4}: a scenario's setup hashes
 * every candidate ephemeral port (splice_scenarios.ts redraws until one lands
 * on the wanted queue), and 96 key shifts plus a fresh array per hash were a
 * visible part of each of an exploration's thousands of runs.
 */
let tuple4Shares: Uint32Array | null = null;

/**
 * The share table, by linearity again: input bit k (byte i, bit 7-b) alone
 * hashes to the 32 key bits starting at bit k, and a byte value's share is
 * the XOR of its set bits' shares, so each entry is one XOR of two entries
 * already made (v without its lowest set bit, and that bit). Built this way
 * it takes microseconds; by calling toeplitz 3072 times it took 17-23 ms of
 * every exploration worker's start (cold code). Tested equal to toeplitz.
 */
function tuple4Table(): Uint32Array {
  const key = MS_RSS_KEY;
  const t = new Uint32Array(12 * 256);
  for (let i = 0; i < 12; i++) {
    const row = i * 256;
    for (let b = 0; b < 8; b++) {
      const k = 8 * i + 7 - b; // the key bit the window of input bit (i, b) starts at
      const byte = k >>> 3, shift = k & 7;
      const hi = ((key[byte] << 24) | (key[byte + 1] << 16) | (key[byte + 2] << 8) | key[byte + 3]) >>> 0;
      const window = shift === 0 ? hi : ((hi << shift) | (key[byte + 4] >>> (8 - shift))) >>> 0;
      t[row + (1 << b)] = window;
    }
    for (let v = 3; v < 256; v++) {
      const low = v & -v;
      if (low !== v) t[row + v] = (t[row + (v ^ low)] ^ t[row + low]) >>> 0;
    }
  }
  return t;
}

/** The RSS hash of a TCP/UDP over IPv4 4-tuple (the Toeplitz hash of its 12 bytes, by table). */
export function rssHash4(src: number, dst: number, sport: number, dport: number): number {
  const t = tuple4Shares ?? (tuple4Shares = tuple4Table());
  return (t[src >>> 24] ^ t[256 + ((src >>> 16) & 255)] ^ t[512 + ((src >>> 8) & 255)] ^ t[768 + (src & 255)] ^
    t[1024 + (dst >>> 24)] ^ t[1280 + ((dst >>> 16) & 255)] ^ t[1536 + ((dst >>> 8) & 255)] ^
    t[1792 + (dst & 255)] ^ t[2048 + ((sport >>> 8) & 255)] ^ t[2304 + (sport & 255)] ^
    t[2560 + ((dport >>> 8) & 255)] ^ t[2816 + (dport & 255)]) >>> 0;
}

/** The RSS hash of an IPv4 address pair (non-TCP/UDP packets). */
export function rssHash2(src: number, dst: number): number {
  const b = new Uint8Array(8);
  put32(b, 0, src);
  put32(b, 4, dst);
  return toeplitz(b);
}

/**
 * Indirection tables by queue count. A table is never written after it is
 * filled (RssTable keeps it private), so every NIC with the same number of
 * queues, in every run of a thread, shares one: an exploration builds NICs
 * for each of its thousands of runs.
 */
const rssTables = new Map<number, Uint8Array>();

/** The indirection table: entry i names the receive queue for hashes with low bits i. */
export class RssTable {
  readonly #entries: Uint8Array;
  constructor(readonly queues: number) {
    if (!(Number.isInteger(queues) && queues >= 1 && queues <= 255)) throw new Error("rss: 1..255 queues");
    let t = rssTables.get(queues);
    if (t === undefined) {
      t = new Uint8Array(RSS_TABLE_SIZE);
      for (let i = 0; i < RSS_TABLE_SIZE; i++) t[i] = i % queues;
      rssTables.set(queues, t);
    }
    this.#entries = t;
  }
  /** A copy of the table (entry i: the queue of hashes whose low bits are i). */
  get entries(): Uint8Array {
    return this.#entries.slice();
  }
  /** The receive queue of a hash: indir[hash & 127]. */
  queue(hash: number): number {
    return this.#entries[hash & (RSS_TABLE_SIZE - 1)];
  }
}
