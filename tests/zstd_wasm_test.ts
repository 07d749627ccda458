// The wasm zstd decoder (libzstd compiled to WebAssembly) that inflates a process's first blocks: the same bytes as
// node:zlib on every block of every golden trace and on frames with and without a content size, damage refused
// (never a throw, never more output than allowed) and, once refused, answered as node:zlib answers it and answered exactly as node:zlib answers it through the
// inflater, the embedded module the one the pinned npm package ships, and no node: module in `replay --at`'s graph.
import { sample } from "./_read.ts";
import { assert, assertEquals } from "./_assert.ts";
import { constants as zlibConstants, zstdCompressSync, zstdDecompressSync } from "node:zlib";
import { ZSTDDecoder } from "zstddec";
import { WasmZstd } from "../format/_zstd_wasm_decoder.ts";
import { ZSTD_WASM_BASE64, ZSTD_WASM_SHA256, ZSTD_WASM_SOURCE } from "../format/_zstd_wasm.ts";
import { WASM_FRAMES_MAX, ZstdInflater } from "../format/inflate.ts";
import { ZstdDeflater } from "../format/deflate.ts";
import { getU32 } from "../format/format.ts";

const MAX = 256 * 1024;
const golden = new URL("./golden/", import.meta.url);

/** Every zstd block payload of every golden trace (the layout walked from docs/trace-format.md). */
function goldenFrames(): { name: string; frame: Uint8Array; raw: number }[] {
  const out: { name: string; frame: Uint8Array; raw: number }[] = [];
  for (const entry of [...Deno.readDirSync(golden)].sort((a, b) => a.name < b.name ? -1 : 1)) {
    if (!entry.name.endsWith(".lstrace")) continue;
    const b = Deno.readFileSync(new URL(entry.name, golden));
    let off = 20 + getU32(b, 12);
    for (let k = 0; off + 40 <= b.length && getU32(b, off) === 0x4b42534c; k++) {
      const stored = getU32(b, off + 4);
      if (b[off + 32] === 1) {
        out.push({
          name: `${entry.name} block ${k}`,
          frame: b.slice(off + 40, off + 40 + stored),
          raw: getU32(b, off + 28),
        });
      }
      off += 40 + stored;
    }
  }
  return out;
}

Deno.test("zstd wasm: every block of every golden trace inflates to node:zlib's bytes", () => {
  const w = new WasmZstd();
  const dst = new Uint8Array(MAX + 1);
  const frames = goldenFrames();
  assert(frames.length >= 40, `${frames.length} zstd blocks in the golden traces`);
  for (const { name, frame, raw } of frames) {
    const want = new Uint8Array(zstdDecompressSync(frame));
    assertEquals(want.length, raw, `${name}: node:zlib gives the header's raw length`);
    dst.fill(0xee);
    // Inside a larger buffer, as a block payload sits after its header.
    const host = new Uint8Array(frame.length + 47);
    host.set(frame, 40);
    assertEquals(w.decompress(host, 40, 40 + frame.length, dst, MAX), raw, name);
    assertEquals(dst.subarray(0, raw), want, `${name}: content`);
  }
});

/**
 * `frame` (a streamed one: no content size, a window descriptor) as a single-segment frame stating its content
 * size `n` in 4 bytes (RFC 8878 3.1.1.1: descriptor 0xa0, no window descriptor; the window is then the content).
 */
function withContentSize(frame: Uint8Array, n: number): Uint8Array {
  assertEquals(frame[4], 0x00, "a streamed frame: no content size, no checksum, no dictionary");
  const out = new Uint8Array(frame.length + 3);
  out.set(frame.subarray(0, 4));
  out[4] = 0xa0;
  out[5] = n & 0xff, out[6] = (n >>> 8) & 0xff, out[7] = (n >>> 16) & 0xff, out[8] = n >>> 24;
  out.set(frame.subarray(6), 9);
  return out;
}

Deno.test("zstd wasm: frames with and without a content size, any level, the writer's own frames", () => {
  const w = new WasmZstd();
  const dst = new Uint8Array(MAX + 1);
  const deflater = new ZstdDeflater(1);
  const out = new Uint8Array(MAX * 2);
  for (const n of [0, 1, 31, 4096, 100_000, 200_000, MAX]) {
    const raw = sample(n, n + 3);
    // Deno's zstdCompressSync streams (no content size, a window descriptor), as the writer does; the same frames
    // rewritten as single-segment frames with their content size are what a one-shot compressor writes.
    const frames: Uint8Array[] = [1, 3, 9].map((level) =>
      new Uint8Array(zstdCompressSync(raw, { params: { [zlibConstants.ZSTD_c_compressionLevel]: level } }))
    );
    frames.push(...frames.map((f) => withContentSize(f, n)));
    const len = deflater.deflate(raw, 0, n, out, 0, MAX);
    if (len >= 0) frames.push(out.slice(0, len));
    for (const [i, frame] of frames.entries()) {
      assertEquals(new Uint8Array(zstdDecompressSync(frame)), raw, `${n} bytes, frame ${i}: node:zlib`);
      assertEquals(w.decompress(frame, 0, frame.length, dst, MAX), n, `${n} bytes, frame ${i}`);
      assertEquals(dst.subarray(0, n), raw, `${n} bytes, frame ${i}: content`);
    }
  }
});

Deno.test("zstd wasm: damage is refused or differs, never throws, never writes past the limit", () => {
  const w = new WasmZstd();
  const raw = sample(150_000, 11);
  const frame = new Uint8Array(zstdCompressSync(raw));
  const dst = new Uint8Array(MAX + 64);
  let refused = 0;
  for (let at = 0; at < frame.length; at += 97) {
    for (const bit of [0x01, 0x10, 0x80]) {
      const bad = frame.slice();
      bad[at] ^= bit;
      dst.fill(0xa5, MAX);
      const n = w.decompress(bad, 0, bad.length, dst, MAX);
      assert(n === -1 || (n >= 0 && n <= MAX), `flip at ${at}: ${n}`);
      assert(dst.subarray(MAX).every((b) => b === 0xa5), `flip at ${at}: wrote past the limit`);
      // A flip that leaves a frame libzstd reads gives other bytes or none of note: the block's CRC-32C and raw
      // length, not the codec, are the reader's damage check (and libzstd one-shot here and Deno's streaming
      // libzstd each accept some damaged frames the other refuses: the wasm one refuses more).
      if (n === -1) refused++;
    }
  }
  assert(refused > 0, "some flips are refused outright");
  assertEquals(w.decompress(frame, 0, 0, dst, MAX), 0, "no frame: nothing (a block's raw length is at least 1)");
  for (const end of [3, 4, 10, frame.length >> 1, frame.length - 1]) {
    assertEquals(w.decompress(frame, 0, end, dst, MAX), -1, `cut at ${end}`);
  }
  assertEquals(w.decompress(frame, 0, frame.length, dst, raw.length - 1), -1, "longer than allowed");
  const trailing = new Uint8Array(frame.length + 3);
  trailing.set(frame);
  assertEquals(w.decompress(trailing, 0, trailing.length, dst, MAX), -1, "bytes after the frame");
  assertEquals(w.decompress(frame, 0, frame.length, dst, MAX), raw.length, "a good frame after all that");
  assertEquals(dst.subarray(0, raw.length), raw);
});

Deno.test("zstd inflater: damage the wasm decoder refuses gets node:zlib's answer, as before", () => {
  const raw = sample(100_000, 5);
  const frame = new Uint8Array(zstdCompressSync(raw));
  const cases: Uint8Array[] = [];
  for (const at of [0, 5, 9, 200, frame.length >> 1, frame.length - 2]) {
    const bad = frame.slice();
    bad[at] ^= 0x42;
    cases.push(bad);
  }
  cases.push(frame.slice(0, frame.length >> 1), frame.slice(0, frame.length - 1));
  const twice = new Uint8Array(frame.length * 2);
  twice.set(frame);
  twice.set(frame, frame.length);
  cases.push(twice);
  const dstA = new Uint8Array(MAX + 1), dstB = new Uint8Array(MAX + 1);
  let refused = 0;
  for (const [i, c] of cases.entries()) {
    const viaWasm = new ZstdInflater(); // its first frames go to the wasm decoder
    const w = new WasmZstd().decompress(c, 0, c.length, dstB, MAX);
    // Refused by the wasm decoder: node:zlib's answer; read by it: its answer.
    const b = w === -1 ? new ZstdInflater(0).inflate(c, 0, c.length, dstB, MAX) : w;
    if (w === -1) refused++;
    const a = viaWasm.inflate(c, 0, c.length, dstA, MAX);
    assertEquals(a, b, `case ${i}`);
    if (a > 0) assertEquals(dstA.subarray(0, a), dstB.subarray(0, b), `case ${i}: content`);
  }
  assert(refused >= cases.length - 2, `${refused} of ${cases.length} refused by the wasm decoder`);
  // Past its first frames an inflater takes node:zlib; the bytes are the same on either side of the switch.
  const inf = new ZstdInflater();
  for (let k = 0; k < WASM_FRAMES_MAX + 3; k++) {
    dstA.fill(0);
    assertEquals(inf.inflate(frame, 0, frame.length, dstA, MAX), raw.length, `frame ${k}`);
    assertEquals(dstA.subarray(0, raw.length), raw, `frame ${k}: content`);
  }
});

Deno.test("zstd wasm: the embedded module is the pinned npm package's, byte for byte", async () => {
  const bytes = Uint8Array.fromBase64(ZSTD_WASM_BASE64);
  const sha = [...new Uint8Array(await crypto.subtle.digest("SHA-256", bytes))]
    .map((b) => b.toString(16).padStart(2, "0")).join("");
  assertEquals(sha, ZSTD_WASM_SHA256);
  assertEquals(ZSTD_WASM_SOURCE, "zstddec@0.3.4");
  // The package loads its module from a data: URL through fetch: catch that URL instead of fetching it.
  const fetch0 = globalThis.fetch;
  let url = "";
  globalThis.fetch = ((u: string) => {
    url = String(u);
    return Promise.reject(new Error("caught"));
  }) as typeof fetch;
  try {
    await new ZSTDDecoder().init().catch(() => {});
  } finally {
    globalThis.fetch = fetch0;
  }
  assertEquals(url, `data:application/wasm;base64,${ZSTD_WASM_BASE64}`);
});

Deno.test("replay --at's module graph names no node: module (node:zlib is loaded only past the first blocks)", async () => {
  const o = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", new URL("../cli/_replay_at.ts", import.meta.url).pathname],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(o.code, 0, new TextDecoder().decode(o.stderr));
  const info = JSON.parse(new TextDecoder().decode(o.stdout)) as { modules: { specifier: string }[] };
  const specifiers = info.modules.map((m) => m.specifier);
  assert(specifiers.some((s) => s.endsWith("/format/inflate.ts")), "the graph holds the inflater");
  assertEquals(specifiers.filter((s) => s.startsWith("node:") || s.startsWith("npm:")), []);
});
