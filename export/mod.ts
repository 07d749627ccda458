/**
 * Exports of a trace for other tools. Each reads a trace through replay/'s
 * reader and streams its output:
 *
 * - {@link exportNdjson}: one JSON object per event and line (jq, scripts);
 * - {@link exportChrome}: Trace Event JSON for Perfetto and chrome://tracing;
 * - {@link exportFtrace}: `sched_switch`/`sched_wakeup` text as in /sys/kernel/tracing/trace;
 * - {@link exportPcapng}: the packets at the NICs, for Wireshark and tshark.
 *
 * @example
 * ```ts
 * import { exportNdjson } from "./mod.ts";
 * exportNdjson("runs/demo.lstrace", "runs/demo.ndjson");
 * ```
 * @module
 */
export { exportNdjson, type ExportNdjsonOptions, type ExportNdjsonResult } from "./ndjson.ts";
export { exportChrome, exportFtrace, type ExportResult } from "./sched.ts";
export { exportPcapng, type PcapngResult } from "./pcapng.ts";
