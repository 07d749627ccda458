import assert from "node:assert/strict";
import { ipv4, MS_RSS_KEY, RSS_TABLE_SIZE, rssHash2, rssHash4, RssTable, toeplitz } from "../drivers/rss.ts";

// Microsoft's RSS verification suite (IPv4): source, destination, hash over
// the addresses only, hash over addresses and ports.
const VECTORS: [string, number, string, number, number, number][] = [
  ["66.9.149.187", 2794, "161.142.100.80", 1766, 0x323e8fc2, 0x51ccc178],
  ["199.92.111.2", 14230, "65.69.140.83", 4739, 0xd718262a, 0xc626b0ea],
  ["24.19.198.95", 12898, "12.22.207.184", 38024, 0xd2d0a5de, 0x5c2b394a],
  ["38.27.205.30", 48228, "209.142.163.6", 2217, 0x82989176, 0xafc7327f],
  ["153.39.163.191", 44251, "202.188.127.2", 1303, 0x5d1809c5, 0x10e828a2],
];

Deno.test("rss: the reference's vector 66.9.149.187:2794 -> 161.142.100.80:1766", () => {
  assert.equal(rssHash4(ipv4("66.9.149.187"), ipv4("161.142.100.80"), 2794, 1766), 0x51ccc178);
  assert.equal(rssHash2(ipv4("66.9.149.187"), ipv4("161.142.100.80")), 0x323e8fc2);
});

Deno.test("rss: Microsoft verification suite, IPv4 with and without ports", () => {
  for (const [src, sport, dst, dport, ipOnly, withPorts] of VECTORS) {
    assert.equal(rssHash2(ipv4(src), ipv4(dst)), ipOnly, `${src}->${dst} ip-only`);
    assert.equal(rssHash4(ipv4(src), ipv4(dst), sport, dport), withPorts, `${src}:${sport}->${dst}:${dport}`);
  }
});

Deno.test("rss: the hash is order sensitive and linear (Toeplitz)", () => {
  const a = new Uint8Array([1, 2, 3, 4]), b = new Uint8Array([8, 7, 6, 5]);
  const x = a.map((v, i) => v ^ b[i]);
  assert.equal(toeplitz(x), (toeplitz(a) ^ toeplitz(b)) >>> 0);
  assert.notEqual(toeplitz(a), toeplitz(b));
  assert.equal(toeplitz(new Uint8Array(12)), 0);
  assert.throws(() => toeplitz(new Uint8Array(40), MS_RSS_KEY));
});

Deno.test("rss: 128-entry indirection table maps hash & 127 round robin over queues", () => {
  const t = new RssTable(3);
  assert.equal(t.entries.length, RSS_TABLE_SIZE);
  assert.equal(t.queue(0), 0);
  assert.equal(t.queue(4), 1);
  assert.equal(t.queue(128 + 5), 2); // only the low 7 bits matter
  const counts = [0, 0, 0];
  for (let h = 0; h < 128; h++) counts[t.queue(h)]++;
  assert.deepEqual(counts, [43, 43, 42]);
  assert.throws(() => new RssTable(0));
});

Deno.test("rss: the 4-tuple hash by table equals the bitwise Toeplitz hash of its bytes", () => {
  let x = 0x9e3779b9;
  const next = () => (x = (Math.imul(x, 1664525) + 1013904223) >>> 0);
  for (let i = 0; i < 2000; i++) {
    const src = next(), dst = next(), sport = next() & 0xffff, dport = next() & 0xffff;
    const b = new Uint8Array([
      src >>> 24,
      (src >>> 16) & 255,
      (src >>> 8) & 255,
      src & 255,
      dst >>> 24,
      (dst >>> 16) & 255,
      (dst >>> 8) & 255,
      dst & 255,
      sport >>> 8,
      sport & 255,
      dport >>> 8,
      dport & 255,
    ]);
    assert.equal(rssHash4(src, dst, sport, dport), toeplitz(b), `${src} ${dst} ${sport} ${dport}`);
  }
});

Deno.test("rss: every byte value at every 4-tuple position hashes as the bitwise Toeplitz hash (the share table, whole)", () => {
  // rssHash4 builds its table from single-bit shares; this walks all 12 x 256 entries through the public hash.
  const put = (b: Uint8Array) =>
    [
      ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0,
      ((b[4] << 24) | (b[5] << 16) | (b[6] << 8) | b[7]) >>> 0,
      (b[8] << 8) | b[9],
      (b[10] << 8) | b[11],
    ] as const;
  const b = new Uint8Array(12);
  for (let i = 0; i < 12; i++) {
    for (let v = 0; v < 256; v++) {
      b.fill(0);
      b[i] = v;
      const [src, dst, sport, dport] = put(b);
      assert.equal(rssHash4(src, dst, sport, dport), toeplitz(b), `byte ${i} value ${v}`);
    }
  }
});

Deno.test("rss: tables of one queue count share their entries, and no caller can write them", () => {
  const a = new RssTable(4), b = new RssTable(4);
  const copy = a.entries;
  copy.fill(3); // a copy: the shared table is untouched
  for (let h = 0; h < RSS_TABLE_SIZE; h++) {
    assert.equal(a.queue(h), h % 4);
    assert.equal(b.queue(h), h % 4);
  }
  assert.equal(new RssTable(5).queue(129), 1);
  assert.throws(() => new RssTable(1.5));
});
