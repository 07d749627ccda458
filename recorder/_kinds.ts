/**
 * Per-kind encoding tables derived from the schema (core/schema.ts), flat
 * typed arrays indexed by kind id so the encode and decode loops do one
 * array read per field instead of walking `KINDS` objects.
 *
 * @module
 */
import { ENUMS, type EnumName, FIELDS_MAX, KIND, KIND_ID_MAX, KINDS } from "../core/schema.ts";
import { CPUS_MAX, SAFE_MAX } from "./format.ts";

/** Field codec: unsigned varint checked against the field's limit. */
export const CODE_U = 0;
/** Field codec: zigzag varint (schema type "i"). */
export const CODE_I = 1;
/** Field codec: zigzag delta from the previous `pkt` field in the block. */
export const CODE_PKT = 2;
/** Field codec: unsigned varint naming a string defined by an earlier str-def. */
export const CODE_STR = 3;

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

for (const k of KINDS) {
  FIELD_COUNT[k.id] = k.fields.length;
  k.fields.forEach((f, j) => {
    const at = k.id * FIELDS_MAX + j;
    FIELD_LIMIT[at] = SAFE_MAX + 1;
    if (f.type === "i") FIELD_CODE[at] = CODE_I;
    else if (f.type === "pkt") FIELD_CODE[at] = CODE_PKT;
    else if (f.type === "str") FIELD_CODE[at] = CODE_STR;
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
