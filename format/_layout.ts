/**
 * Per-kind encoding tables derived from the schema (core/schema.ts), flat
 * typed arrays indexed by kind id so the encode and decode loops do one
 * array read per field instead of walking `KINDS` objects.
 *
 * @module
 */
import { type EnumName, ENUMS, FIELDS_MAX, KIND, KIND_ID_MAX, KINDS } from "../core/schema.ts";
import { CPUS_MAX, SAFE_MAX } from "./format.ts";

/** Field codec: unsigned varint checked against the field's limit. */
export const CODE_U = 0;
/** Field codec: zigzag varint (schema type "i"). */
export const CODE_I = 1;
/** Field codec: zigzag delta from the previous `pkt` field in the block (MODE_BASE), or as CODE_ADAPT's other modes. */
export const CODE_PKT = 2;
/** Field codec: unsigned varint naming a string defined by an earlier str-def. */
export const CODE_STR = 3;
/**
 * Field codec of "u", "ns" and "obj": by the slot's mode in the block's
 * field-mode table, a raw unsigned varint (MODE_BASE) or a zigzag delta from
 * the slot's previous value (MODE_DELTA) or its previous value under the key
 * (MODE_KEYED); see {@link chooseModes}.
 */
export const CODE_ADAPT = 4;

/** Number of fields of each kind id; -1 for ids the schema does not declare. */
export const FIELD_COUNT: Int8Array = new Int8Array(KIND_ID_MAX + 1).fill(-1);
/** Codec of field j of kind k at `k * FIELDS_MAX + j`. */
export const FIELD_CODE: Uint8Array = new Uint8Array((KIND_ID_MAX + 1) * FIELDS_MAX);
/**
 * Exclusive upper bound of field j of kind k (unsigned codecs): the label
 * count of an enum, CPUS_MAX for a cpu, 2^53 otherwise.
 */
export const FIELD_LIMIT: Float64Array = new Float64Array((KIND_ID_MAX + 1) * FIELDS_MAX);

/** Kind id of str-def, the one kind with a text payload. */
export const KIND_STR_DEF: number = KIND.strDef;
/** Kind id of checkpoint, whose positions the footer lists. */
export const KIND_CHECKPOINT: number = KIND.checkpoint;

/**
 * Kind ids with a one-byte code, frozen since format version 2: code c (0..62)
 * stands for KIND_CODE_IDS[c]; code 63 escapes to a second byte holding the
 * kind id, for kinds added to the schema later (and flow-def, which is rare).
 * Changing this list needs a new format version.
 */
export const KIND_CODE_IDS: readonly number[] = [
  ...[0, 1, 2, 3, 4, 5],
  ...[10, 11, 12, 13, 14, 15, 16, 17],
  ...[20, 21, 22, 23, 24, 25],
  ...[30, 31, 32, 33],
  ...[40, 41, 42, 43, 44, 45, 46, 47],
  ...[50, 51, 52, 53, 54],
  ...[60, 61, 62, 63],
  ...[70, 71, 72, 73, 74, 75, 76, 77, 78, 79, 80, 81, 82, 83, 84, 85, 86, 87, 88, 89],
  ...[90, 92],
];
/** Lead-byte flag: same cpu and thread as the previous event of the block (no context bytes follow). */
export const SAME_CONTEXT = 0x80;
/** Lead-byte flag: same time as the previous event of the block (no time delta follows). */
export const DT_ZERO = 0x40;
/** The escape code: the kind id follows in the next byte. */
export const KIND_CODE_ESCAPE = 63;
/** Kind bits of the lead byte. */
export const KIND_CODE_MASK = 0x3f;
/** Code of each kind id (KIND_CODE_ESCAPE for ids without one). */
export const CODE_OF_KIND: Uint8Array = new Uint8Array(KIND_ID_MAX + 1).fill(KIND_CODE_ESCAPE);
/** Kind id of each code; -1 for reserved codes and the escape. */
export const KIND_OF_CODE: Int16Array = new Int16Array(KIND_CODE_ESCAPE + 1).fill(-1);
KIND_CODE_IDS.forEach((id, code) => {
  if (code >= KIND_CODE_ESCAPE) throw new Error("trace format: too many kind codes");
  CODE_OF_KIND[id] = code;
  KIND_OF_CODE[code] = id;
});

for (const k of KINDS) {
  FIELD_COUNT[k.id] = k.fields.length;
  k.fields.forEach((f, j) => {
    const at = k.id * FIELDS_MAX + j;
    FIELD_LIMIT[at] = SAFE_MAX + 1;
    if (f.type === "i") FIELD_CODE[at] = CODE_I;
    else if (f.type === "pkt") FIELD_CODE[at] = CODE_PKT;
    else if (f.type === "str") FIELD_CODE[at] = CODE_STR;
    else if (f.type === "u" || f.type === "ns" || f.type === "obj") FIELD_CODE[at] = CODE_ADAPT;
    else {
      FIELD_CODE[at] = CODE_U;
      if (f.type === "cpu") FIELD_LIMIT[at] = CPUS_MAX;
      if (f.type.startsWith("enum:")) FIELD_LIMIT[at] = ENUMS[f.type.slice(5) as EnumName].length;
    }
  });
}

// The str-def layout is special-cased by both codecs: it must stay one str field.
if (FIELD_COUNT[KIND_STR_DEF] !== 1 || FIELD_CODE[KIND_STR_DEF * FIELDS_MAX] !== CODE_STR) {
  throw new Error("trace format: str-def must have exactly one str field (id)");
}
if (FIELD_COUNT[KIND_CHECKPOINT] < 0) throw new Error("trace format: the schema lacks checkpoint");

/** Number of (kind, field) slots: slot `kind * FIELDS_MAX + field`. */
export const SLOTS: number = (KIND_ID_MAX + 1) * FIELDS_MAX;

/** Varint bytes of a value below 2^32 by its count of leading zero bits (Math.clz32). */
export const SIZE_BY_CLZ: Uint8Array = Uint8Array.from(
  { length: 33 },
  (_, clz) => Math.max(1, Math.ceil((32 - clz) / 7)),
);

/** Bytes of the unsigned varint of `v` (a safe non-negative integer). */
export function varUSize(v: number): number {
  if (v < 0x100000000) return SIZE_BY_CLZ[Math.clz32(v)];
  return v < 0x800000000 ? 5 : v < 0x40000000000 ? 6 : v < 0x2000000000000 ? 7 : 8;
}

/** Bytes of the zigzag varint of `d` (a safe integer): Z = 2m + sign needs 7k bits when m < 2^(7k-1). */
export function varISize(d: number): number {
  const m = d < 0 ? -d - 1 : d;
  if (m < 0x80000000) return SIZE_BY_CLZ[Math.clz32(m) - 1];
  return m < 0x400000000 ? 5 : m < 0x20000000000 ? 6 : m < 0x1000000000000 ? 7 : 8;
}

/** Field mode (field-mode table): the slot's codec as {@link FIELD_CODE} says (raw varint, or for `pkt` the delta from the block's last `pkt` value). */
export const MODE_BASE = 0;
/** Field mode: zigzag delta from the previous value of the same slot in the block. */
export const MODE_DELTA = 1;
/** Field mode: zigzag delta from the previous value of the same slot with the same key (see {@link KEY_FIELD}) in the block. */
export const MODE_KEYED = 2;
/**
 * Entries of the per-block table of thread times: an event's time delta is
 * from the last event of a thread with the same `thread mod THREAD_WAYS` in
 * the block (the block's first time before any).
 */
export const THREAD_WAYS = 1024;
/** Entries of each slot's keyed table: a key selects entry `key & (KEY_WAYS - 1)`. */
export const KEY_WAYS = 256;
/** log2 of {@link KEY_WAYS}: slot `s`, key `k` is entry `(s << KEY_SHIFT) | (k & (KEY_WAYS - 1))`. */
export const KEY_SHIFT = 8;

/**
 * Field position of each kind's key (-1: none): the first field of type
 * `obj`, or of type `u` named `flow`. After an event's key field is coded,
 * its value is the block's current key; keyed fields (MODE_KEYED) of this
 * and later events predict from the previous value of their slot under that
 * key. So a `pkt-tcp` (no key field of its own) after the `pkt-rx` of flow 7
 * predicts its seq from flow 7's last `pkt-tcp` seq.
 */
export const KEY_FIELD: Int8Array = new Int8Array(KIND_ID_MAX + 1).fill(-1);
for (const k of KINDS) {
  KEY_FIELD[k.id] = k.fields.findIndex((f) => f.type === "obj" || (f.type === "u" && f.name === "flow"));
}

/**
 * Whether `slot` may have a mode other than MODE_BASE: a `u`, `ns`, `obj` or
 * `pkt` field of a declared kind (the decoder refuses a mode table naming
 * anything else). A kind's key field may not be in MODE_KEYED ({@link isKeySlot}).
 */
export function isModeSlot(slot: number): boolean {
  const kind = Math.floor(slot / FIELDS_MAX);
  if (!(slot >= 0 && slot < SLOTS && slot - kind * FIELDS_MAX < FIELD_COUNT[kind])) return false;
  return FIELD_CODE[slot] === CODE_ADAPT || FIELD_CODE[slot] === CODE_PKT;
}

/** Whether `slot` is its kind's key field (KEY_FIELD). */
export function isKeySlot(slot: number): boolean {
  const kind = Math.floor(slot / FIELDS_MAX);
  return slot >= 0 && slot < SLOTS && slot - kind * FIELDS_MAX === KEY_FIELD[kind];
}

/**
 * Sets `modes[slot]` to the mode of least summed cost for each mode slot,
 * where `cost[m * SLOTS + slot]` holds the bytes mode m would have taken over
 * a block (ties go to the lower mode), and clears the sums. Returns the
 * number of slots not in MODE_BASE. The one place the format's mode choice is
 * made: the writer sums the costs over block k and the result is block k+1's
 * field-mode table. The decoder never computes it: it reads the table.
 */
export function chooseModes(cost: Float64Array, modes: Uint8Array): number {
  let n = 0;
  for (let slot = 0; slot < SLOTS; slot++) {
    let mode = MODE_BASE;
    if (FIELD_CODE[slot] === CODE_ADAPT || FIELD_CODE[slot] === CODE_PKT) {
      const kind = Math.floor(slot / FIELDS_MAX);
      const base = cost[slot], delta = cost[SLOTS + slot];
      // A key field is never keyed (by the previous event's key): measured, it only ever cost.
      const keyed = slot - kind * FIELDS_MAX === KEY_FIELD[kind] ? Infinity : cost[2 * SLOTS + slot];
      if (delta < base) mode = keyed < delta ? MODE_KEYED : MODE_DELTA;
      else if (keyed < base) mode = MODE_KEYED;
    }
    modes[slot] = mode;
    if (mode !== MODE_BASE) n++;
  }
  cost.fill(0);
  return n;
}
