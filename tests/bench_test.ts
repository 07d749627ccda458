// Smoke test of `deno task bench --quick`: every figure of issue 15 is present with its spread and aim.
// No timing is asserted (speed is the bench's job, and this machine is shared).
import { assert, assertEquals } from "./_assert.ts";

Deno.test("bench --quick --json reports every figure with min/median/max and the peer ratios", async () => {
  const bench = new URL("../tools/bench.ts", import.meta.url).pathname;
  const o = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-write", "--allow-env", "--allow-run", bench, "--quick", "--json"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(o.code, 0, new TextDecoder().decode(o.stderr));
  const out = JSON.parse(new TextDecoder().decode(o.stdout));
  const spreads = [
    "record.taskq-demo",
    "record.mutex-storm",
    "record.splice-tcp",
    "noTrace.mutex-storm",
    "overhead.mutex-storm",
    "codec.lockstep.encode",
    "codec.lockstep.decode",
    "codec.msgpackr.decode",
    "codec.protobuf.decode",
    "codec.ndjson.decode",
    "fold",
    "replayVsRecord",
    "seekNewProcess",
    "explore",
  ];
  for (const k of spreads) {
    const f = out[k];
    assert(f !== undefined, `missing ${k}`);
    assert(f.min <= f.median && f.median <= f.max && f.min > 0, `${k}: ${JSON.stringify(f)}`);
    assert(typeof f.aim === "string", `${k} has an aim`);
  }
  for (const p of ["ndjson", "msgpackr", "protobuf"]) {
    const r = out[`ratio.${p}`];
    assert(r.size > 1, `${p}: lockstep is smaller (${r.size})`);
    assert(r.encode > 0 && r.decode > 0, `${p} ratios`);
  }
  for (const s of ["taskq-demo", "mutex-storm", "splice-tcp", "splice-udp", "splice-refrace"]) {
    assert(out.sizes[s] > 0, `size of ${s}`);
  }
});
