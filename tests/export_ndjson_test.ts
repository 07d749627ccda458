// NDJSON export of .lstrace files, and the trace bench on a small synthetic run.
import assert from "node:assert/strict";
import { EventRecord } from "../core/event.ts";
import { type EnumName, ENUMS, KIND, kindDef } from "../core/schema.ts";
import type { TraceHeaderInit } from "../format/format.ts";
import { exportNdjson } from "../export/ndjson.ts";
import { eventToNdjson } from "../format/json.ts";
import { encodeToBytes, TraceWriter } from "../recorder/writer.ts";
import { TraceReader } from "../replay/reader.ts";
import { benchTrace, syntheticRun } from "../tools/bench_trace.ts";

const HEADER: TraceHeaderInit = {
  tool: "lockstep test",
  scenario: "ndjson",
  seed: 1,
  cpus: 2,
  config: { q: 3 },
  inputs: [],
};

function emit(sink: TraceWriter, e: EventRecord, kind: number, fields: number[], text = ""): void {
  e.kind = kind;
  e.fields.fill(0);
  fields.forEach((v, j) => (e.fields[j] = v));
  e.text = text;
  sink.onEvent(e);
  e.index++;
  e.tNs += 5;
}

function writeSample(path: string): void {
  const w = TraceWriter.create(path, HEADER);
  const e = new EventRecord();
  e.cpu = 1;
  e.thread = 4;
  emit(w, e, KIND.strDef, [3], 'so_lock "quoted" ✓');
  emit(w, e, KIND.lockInit, [12, 3, 2]);
  emit(w, e, KIND.lockAcquire, [12, 1, 4, 250]);
  emit(w, e, KIND.threadCreate, [9, 3, 0, -1, 1, 0]);
  emit(w, e, KIND.runEnd, [3, 0]);
  w.close();
}

Deno.test("ndjson: names, enum labels and strings resolved, nested fields", () => {
  const dir = Deno.makeTempDirSync();
  try {
    writeSample(`${dir}/t.lstrace`);
    const result = exportNdjson(`${dir}/t.lstrace`, `${dir}/t.ndjson`);
    assert.equal(result.events, 5);
    const text = Deno.readTextFileSync(`${dir}/t.ndjson`);
    assert.equal(result.bytes, new TextEncoder().encode(text).length);
    const lines = text.trimEnd().split("\n").map((l) => JSON.parse(l));
    assert.equal(lines.length, 6);
    assert.equal(lines[0].header.scenario, "ndjson");
    assert.deepEqual(lines[0].header.config, { q: 3 });
    assert.deepEqual(lines[1], {
      index: 0,
      tNs: 0,
      cpu: 1,
      thread: 4,
      kind: "str-def",
      fields: { id: 3 },
      text: 'so_lock "quoted" ✓',
    });
    assert.deepEqual(lines[2].fields, { lock: 12, class: 'so_lock "quoted" ✓', type: "rwlock" });
    assert.deepEqual(lines[3], {
      index: 2,
      tNs: 10,
      cpu: 1,
      thread: 4,
      kind: "lock-acquire",
      fields: { lock: 12, mode: "shared", thread: 4, waitNs: 250 },
    });
    assert.deepEqual(lines[4].fields, { thread: 9, name: 'so_lock "quoted" ✓', prio: 0, pin: -1, cpu: 1, kind: 0 });
    assert.deepEqual(lines[5].fields, { reason: "deadlock", blocked: 0 });
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("ndjson: options and damage", () => {
  const dir = Deno.makeTempDirSync();
  try {
    writeSample(`${dir}/t.lstrace`);
    const r = exportNdjson(`${dir}/t.lstrace`, `${dir}/a.ndjson`, { header: false, fromIndex: 2, limit: 2 });
    assert.equal(r.events, 2);
    const lines = Deno.readTextFileSync(`${dir}/a.ndjson`).trimEnd().split("\n").map((l) => JSON.parse(l));
    assert.deepEqual(lines.map((l) => l.index), [2, 3]);
    // A trace cut inside its footer: strict export writes the events, then throws; recover reports.
    const bytes = Deno.readFileSync(`${dir}/t.lstrace`);
    Deno.writeFileSync(`${dir}/cut.lstrace`, bytes.subarray(0, bytes.length - 3));
    assert.throws(() => exportNdjson(`${dir}/cut.lstrace`, `${dir}/b.ndjson`), /truncated/);
    assert.equal(Deno.readTextFileSync(`${dir}/b.ndjson`).trimEnd().split("\n").length, 6);
    const lenient = exportNdjson(`${dir}/cut.lstrace`, `${dir}/c.ndjson`, { recover: true });
    assert.equal(lenient.events, 5);
    assert.equal(lenient.damage?.code, "truncated");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("ndjson: every field of every synthetic event parses back to the recorded value", () => {
  const reader = TraceReader.fromBytes(encodeToBytes({ ...HEADER, cpus: 4 }, syntheticRun(5000, 4)));
  let n = 0, fieldsCompared = 0;
  reader.forEach((e) => {
    const o = JSON.parse(eventToNdjson(e, reader));
    const def = kindDef(e.kind);
    assert.deepEqual([o.index, o.tNs, o.cpu, o.thread, o.kind], [e.index, e.tNs, e.cpu, e.thread, def.name]);
    assert.equal(o.text ?? "", e.text);
    assert.deepEqual(Object.keys(o.fields), def.fields.map((f) => f.name), def.name);
    def.fields.forEach((f, j) => {
      const got = o.fields[f.name], want = e.fields[j];
      // Back from the label to the number the trace holds: enum index, string id, or the number itself.
      if (f.type.startsWith("enum:")) {
        const labels: readonly string[] = ENUMS[f.type.slice(5) as EnumName];
        assert.equal(typeof got === "string" ? labels.indexOf(got) : got, want, `${def.name}.${f.name}`);
      } else if (f.type === "str" && def.name !== "str-def") {
        assert.equal(got, reader.string(want) ?? `#${want}`, `${def.name}.${f.name}`);
      } else assert.equal(got, want, `${def.name}.${f.name}`);
      fieldsCompared++;
    });
    for (let j = def.fields.length; j < e.fields.length; j++) assert.equal(e.fields[j], 0);
    n++;
  });
  assert.equal(n, 5000);
  assert.ok(fieldsCompared > 5000, `fields compared: ${fieldsCompared}`);
});

Deno.test("bench: figures are computed and consistent", async () => {
  const f = await benchTrace(syntheticRun(20_000, 1), "test", { repeats: 1, print: false });
  assert.equal(f.events, 20_000);
  assert.ok(f.bytesPerEvent > 1 && f.bytesPerEvent < 8, `bytes/event ${f.bytesPerEvent}`);
  assert.ok(f.ndjsonBytesPerEvent > 10 * f.bytesPerEvent, "NDJSON is much larger");
  assert.ok(Math.abs(f.sizeRatio - f.ndjsonBytesPerEvent / f.bytesPerEvent) < 1e-9);
  for (
    const k of ["encodeEventsPerSec", "decodeEventsPerSec", "ndjsonEncodeEventsPerSec", "ndjsonDecodeEventsPerSec"]
  ) {
    assert.ok(f[k] > 0 && Number.isFinite(f[k]), k);
  }
});
