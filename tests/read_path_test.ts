// The read path's own pieces: zstd blocks inflated through one reused context (same bytes as node:zlib's
// zstdDecompressSync, damage refused without poisoning the next frame), and `replay --at` through the lean
// entry (the same answers and errors as the full command, other argument lists handed to the full parser).
import { sample } from "./_read.ts";
import { assert, assertEquals } from "./_assert.ts";
import { tempDir } from "./_tmp.ts";
import { zstdCompressSync, zstdDecompressSync } from "node:zlib";
import { ZstdInflater } from "../format/inflate.ts";
import { replayAt } from "../cli/_replay_at.ts";
import { recordRun } from "../cli/run.ts";
import { RebuiltState } from "../replay/state.ts";
import { TraceError, TraceReader } from "../replay/reader.ts";
import { crc32c, getU32, putU32 } from "../format/format.ts";

const dir = tempDir("lockstep-readpath-");

Deno.test("zstd inflater: the same bytes as zstdDecompressSync, into the caller's buffer at any offset", () => {
  const inf = new ZstdInflater();
  const dst = new Uint8Array(256 * 1024 + 1);
  for (const n of [1, 100, 4096, 65_536, 200_000, 256 * 1024]) {
    const raw = sample(n, n);
    const frame = new Uint8Array(zstdCompressSync(raw));
    // The frame inside a larger buffer, as a block payload sits after its header.
    const host = new Uint8Array(frame.length + 57);
    host.set(frame, 40);
    dst.fill(0xee);
    const got = inf.inflate(host, 40, 40 + frame.length, dst, 256 * 1024);
    assertEquals(got, n, `${n} bytes`);
    assertEquals(dst.subarray(0, n), raw, `${n} bytes: content`);
    assertEquals(new Uint8Array(zstdDecompressSync(frame)), raw, "node:zlib agrees");
  }
});

Deno.test("zstd inflater: damage is -1, and the next good frame still inflates", () => {
  const inf = new ZstdInflater();
  const raw = sample(100_000, 7);
  const frame = new Uint8Array(zstdCompressSync(raw)); // a copy: a Buffer's slice() would share the bytes
  const dst = new Uint8Array(256 * 1024 + 1);
  const good = () => {
    assertEquals(inf.inflate(frame, 0, frame.length, dst, 256 * 1024), raw.length);
    assertEquals(dst.subarray(0, raw.length), raw);
  };
  good();
  for (const at of [0, 4, 10, Math.floor(frame.length / 2), frame.length - 3]) {
    const bad = frame.slice();
    bad[at] ^= 0x5a;
    const n = inf.inflate(bad, 0, bad.length, dst, 256 * 1024);
    // A flip may leave a valid frame of other content; what matters is that it is never mistaken for the original.
    assert(n !== raw.length || dst.subarray(0, n).some((b, i) => b !== raw[i]), `flip at ${at} went unnoticed`);
    good();
  }
  // Cut inside its content (a frame missing only its last bytes still yields all of its content, as with
  // zstdDecompressSync; the block's CRC and raw length are what catch a changed stored payload).
  assert(inf.inflate(frame, 0, frame.length >> 1, dst, 256 * 1024) < raw.length, "cut short");
  good();
  assertEquals(inf.inflate(frame, 0, frame.length, dst, raw.length - 1), -1, "longer than allowed");
  good();
  const twice = new Uint8Array(frame.length * 2);
  twice.set(frame);
  twice.set(frame, frame.length);
  assert(inf.inflate(twice, 0, twice.length, dst, 256 * 1024) !== raw.length, "two frames are not one block");
  good();
  const trailing = new Uint8Array(frame.length + 3);
  trailing.set(frame);
  assert(inf.inflate(trailing, 0, trailing.length, dst, 256 * 1024) !== raw.length, "bytes after the frame");
  good();
  assertEquals(inf.inflate(new Uint8Array(0), 0, 0, dst, 256 * 1024) <= 0, true, "nothing");
  good();
});

Deno.test("replay --at through the lean entry: the state after event N, the full command's errors", () => {
  const f = `${dir}/at.lstrace`;
  recordRun({ scenario: "mutex-storm", seed: 1, overrides: { "sim.durationNs": "2000000" }, out: f });
  const r = TraceReader.open(f);
  const count = r.eventCount!;
  const want = new RebuiltState(r.header.cpus);
  for (const e of r.events()) {
    if (e.index > 100) break;
    want.apply(e);
  }
  r.close();
  const logged: string[] = [];
  const log = console.log;
  console.log = (s: string) => void logged.push(s);
  try {
    for (const args of [["--at", "100", "--json", f], [f, "--json", "--at=100"]]) {
      logged.length = 0;
      assertEquals(replayAt(args), 0, args.join(" "));
      assertEquals(JSON.parse(logged[0]), { at: 100, ...JSON.parse(JSON.stringify(want.toJSON())) });
    }
    logged.length = 0;
    assertEquals(replayAt(["--at", "100", f]), 0);
    assert(logged[0].startsWith("state after event 100 (101 events applied)"), logged[0]);
  } finally {
    console.log = log;
  }
  // Anything else is the full command's to parse and word.
  for (
    const args of [
      [f],
      ["--at", "1", f, f],
      ["--at", "1", "--no-rerun", f],
      ["--at", "-1", f],
      ["--at", "1", "--at", "2", f],
      ["--at"],
    ]
  ) assertEquals(replayAt(args), undefined, args.join(" "));
  const usage = (args: string[], pattern: RegExp) => {
    try {
      replayAt(args);
    } catch (e) {
      assertEquals((e as Error).name, "UsageError", args.join(" "));
      assert(pattern.test((e as Error).message), (e as Error).message);
      return;
    }
    throw new Error(`${args.join(" ")}: no error`);
  };
  usage(["--at", String(count), f], /past the last event/);
  usage(["--at", "x", f], /non-negative integer/);
  usage(["--at", "1", `${dir}/missing.lstrace`], /no such file/);
});

Deno.test("a zstd block damaged under a valid checksum is refused, and the next read is whole", () => {
  const f = `${dir}/zstd.lstrace`;
  recordRun({ scenario: "mutex-storm", seed: 2, overrides: { "sim.durationNs": "20000000" }, out: f });
  const good = Deno.readFileSync(f);
  const first = 20 + getU32(good, 12); // block 0 starts after the prefix and header
  assertEquals(getU32(good, first), 0x4b42534c, "block magic");
  assertEquals(good[first + 32], 1, "block 0 is a zstd frame");
  const stored = getU32(good, first + 4);
  const all: number[] = [];
  TraceReader.fromBytes(good).forEach((e) => void all.push(e.tNs));
  for (const at of [first + 40 + 8, first + 40 + (stored >> 1), first + 40 + stored - 2]) {
    const bad = good.slice();
    bad[at] ^= 0x24;
    putU32(bad, first + 36, crc32c(bad, crc32c(bad, 0, first, first + 36), first + 40, first + 40 + stored));
    let error: unknown;
    let seen = 0;
    try {
      TraceReader.fromBytes(bad).forEach(() => void seen++);
    } catch (e) {
      error = e;
    }
    assert(error instanceof TraceError && error.code === "corrupt", `flip at ${at}: ${error}`);
    assertEquals(seen, 0, "no event of the damaged block");
    const again: number[] = [];
    TraceReader.fromBytes(good).forEach((e) => void again.push(e.tNs));
    assertEquals(again, all, "the good trace reads whole after the damage");
  }
});
