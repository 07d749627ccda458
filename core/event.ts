/**
 * The event record and the sink interface: the one path every state change
 * takes out of the machine.
 *
 * The machine owns a single {@link EventRecord} and overwrites it for each
 * event, then hands it to every sink synchronously. Sinks must copy what they
 * keep; no object is allocated per event.
 *
 * @example
 * ```ts
 * import { EventRecord, type EventSink } from "./event.ts";
 * const count: EventSink = { onEvent(_e: EventRecord) {}, onString() {} };
 * ```
 * @module
 */
import { FIELDS_MAX } from "./schema.ts";

/** One event: a reused record, valid only during the sink call. */
export class EventRecord {
  /** Index of the event in the run, from 0. */
  index = 0;
  /** Simulated time in nanoseconds. */
  tNs = 0;
  /** CPU the event happened on. */
  cpu = 0;
  /** Thread that was running (0 when none). */
  thread = 0;
  /** Kind id from the schema. */
  kind = 0;
  /** Field values, in the order the schema declares them; unused are 0. */
  readonly fields: Float64Array = new Float64Array(FIELDS_MAX);
  /** The string text of a `str-def` event; "" for other kinds. */
  text = "";

  /** Copies every value of `other` into this record. */
  copyFrom(other: EventRecord): void {
    this.index = other.index;
    this.tNs = other.tNs;
    this.cpu = other.cpu;
    this.thread = other.thread;
    this.kind = other.kind;
    this.fields.set(other.fields);
    this.text = other.text;
  }
}

/** Something that receives events as they are emitted. */
export interface EventSink {
  /** Called once per event, in order. The record is reused after return. */
  onEvent(e: EventRecord): void;
  /** Called when the run ends (after the last event). */
  onEnd?(): void;
}
