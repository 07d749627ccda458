/**
 * .ci/run's last line counts skipped tests (Deno's "ignored": no chromium, no
 * tshark) apart from passed ones, and lists why each was skipped.
 */
import { assert, assertEquals } from "./_assert.ts";
import { join } from "node:path";
import { tempDir } from "./_tmp.ts";

const SUMMARY = new URL("../.ci/summary", import.meta.url).pathname;
const dir = tempDir("lockstep-ci-");

async function summary(log: string, status: number): Promise<string[]> {
  const file = join(dir, "log");
  Deno.writeTextFileSync(file, log);
  const o = await new Deno.Command("bash", { args: [SUMMARY, file, String(status)], stdout: "piped" }).output();
  return new TextDecoder().decode(o.stdout).trim().split("\n");
}

Deno.test(".ci/summary reports passed, failed and skipped, and names the skipped tests", async () => {
  const log = [
    "export => pcapng export: tshark reads it (skipped: /usr/bin/tshark not found) ... ignored (0ms)",
    "export => pcapng export: blocks well formed ... ok (1s)",
    "",
    "ok | 169 passed (11 steps) | 0 failed | 2 ignored (10m18s)",
  ].join("\n");
  const out = await summary(log, 0);
  assertEquals(out.at(-1), "169 passed, 0 failed, 2 skipped");
  assert(out.some((l) => l.includes("ci: skipped:") && l.includes("tshark not found")), out.join("\n"));
  assertEquals((await summary("ok | 3 passed | 0 failed (1s)", 0)).at(-1), "3 passed, 0 failed, 0 skipped");
  const coloured = "\x1b[0m\x1b[32mok\x1b[0m | 172 passed (11 steps) | 0 failed \x1b[0m\x1b[38;5;245m(5m15s)\x1b[0m";
  assertEquals((await summary(coloured, 0)).at(-1), "172 passed, 0 failed, 0 skipped");
  assertEquals((await summary("error: Found 1 not formatted file", 1)).at(-1), "0 passed, 1 failed, 0 skipped");
});
