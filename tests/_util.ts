/**
 * Test helpers: a bare machine, an event log sink and an event hash sink.
 * @module
 */
import { COST_KEYS, MACHINE_KEYS, resolveConfig } from "../core/config.ts";
import type { EventRecord, EventSink } from "../core/event.ts";
import { Machine } from "../core/machine.ts";
import { kindDef } from "../core/schema.ts";
import { Fnv } from "../core/digest.ts";

/** A copied event. */
export interface Ev {
  i: number;
  t: number;
  cpu: number;
  th: number;
  kind: string;
  f: number[];
  text: string;
}

/** A sink that keeps copies of every event. */
export class Log implements EventSink {
  readonly events: Ev[] = [];
  onEvent(e: EventRecord): void {
    this.events.push({
      i: e.index,
      t: e.tNs,
      cpu: e.cpu,
      th: e.thread,
      kind: kindDef(e.kind).name,
      f: Array.from(e.fields),
      text: e.text,
    });
  }
  /** Events of one kind. */
  of(kind: string): Ev[] {
    return this.events.filter((e) => e.kind === kind);
  }
}

/** A sink that hashes every field of every event, and the text of every string definition. */
export class Hash implements EventSink {
  readonly #h = new Fnv();
  readonly #h2 = new Fnv();
  count = 0;
  onEvent(e: EventRecord): void {
    this.count++;
    for (const h of [this.#h, this.#h2]) {
      h.add(e.index);
      h.add(e.tNs);
      h.add(e.cpu);
      h.add(e.thread);
      h.add(e.kind);
      for (const x of e.fields) h.add(x < 0 ? 2 ** 52 - x : x);
    }
    // The whole string table: every character of every str-def, not just its length.
    const text = e.text;
    this.#h2.add(text.length);
    for (let i = 0; i < text.length; i++) this.#h2.add(text.charCodeAt(i));
  }
  /** The hash as hex. */
  hex(): string {
    return this.#h.value().toString(16).padStart(8, "0") + this.#h2.value().toString(16).padStart(8, "0") +
      ":" + this.count;
  }
}

/** A machine with default machine keys plus `overrides`. */
export function machine(overrides: Record<string, string> = {}, seed = 1, sinks: EventSink[] = []): Machine {
  const config = resolveConfig([MACHINE_KEYS, COST_KEYS], { cpus: "2", ...overrides });
  return new Machine({ config, seed, sinks });
}
