/**
 * JUnit XML for `replay --junit FILE`: one test case per trace, so any CI
 * system shows golden-trace regressions in its test view. A divergence is a
 * failure whose message is the first divergent event; a digest mismatch is a
 * failure too; recorded violations (a golden trace of a known bug) are
 * listed in the case's system-out, not failures, as `replay`'s exit status
 * treats them.
 * @module
 */
import type { ReplayResult } from "../replay/mod.ts";

/** Escapes text for an XML attribute or element. */
export function xmlEscape(s: string): string {
  // Characters XML 1.0 cannot hold at all are dropped.
  // deno-lint-ignore no-control-regex
  return s.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, "")
    .replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;")
    .replace(/'/g, "&apos;");
}

/** The report for these replays. */
export function junitReport(results: readonly ReplayResult[]): string {
  const cases: string[] = [];
  let failures = 0;
  for (const r of results) {
    const name = xmlEscape(r.file);
    const lines: string[] = [];
    let failure = "";
    if (r.digestMismatch !== null) {
      failures++;
      const m = `digest mismatch at event ${r.digestMismatch.event} (${r.digestMismatch.parts.join(", ")})`;
      failure = `<failure message="${xmlEscape(m)}" type="digest">${xmlEscape(m)}</failure>`;
    } else if (r.divergence !== null) {
      failures++;
      const d = r.divergence;
      const m = `first divergence at event ${d.event} (t=${d.tNs} ns, cpu${d.cpu}, thread ${d.thread})`;
      const body = [
        m,
        ...d.before.map((b) => `before:   ${JSON.stringify(b)}`),
        `recorded: ${JSON.stringify(d.recorded)}`,
        `produced: ${JSON.stringify(d.produced)}`,
      ].join("\n");
      failure = `<failure message="${xmlEscape(m)}" type="divergence">${xmlEscape(body)}</failure>`;
    }
    lines.push(`${r.events} events, ${r.digestsChecked} digests checked, rerun ${r.rerun}`);
    for (const v of r.violations) lines.push(`recorded violation ${v.kind} at event ${v.event}: ${v.message}`);
    const skipped = r.rerun === "skipped" && failure === "" ? '<skipped message="--no-rerun"/>' : "";
    cases.push(
      `  <testcase classname="lockstep.replay" name="${name}">${failure}${skipped}<system-out>${
        xmlEscape(lines.join("\n"))
      }</system-out></testcase>`,
    );
  }
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites>\n <testsuite name="lockstep replay" tests="${results.length}" failures="${failures}" errors="0">\n${
    cases.join("\n")
  }\n </testsuite>\n</testsuites>\n`;
}
