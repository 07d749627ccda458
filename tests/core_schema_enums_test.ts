import { assertEquals } from "./_assert.ts";
import {
  BLOCK_WHY,
  DECISION,
  type EnumName,
  ENUMS,
  enumValues,
  LOCK_MODE,
  LOCK_TYPE,
  PROTO,
  SB_WHICH,
  SWITCH_REASON,
  THREAD_KIND,
  THREAD_STATE,
  UNSPLICE_REASON,
} from "../core/schema.ts";
import { MODE, THREAD_KIND as OBJ_THREAD_KIND, TS } from "../core/objects.ts";
import { WHY } from "../core/sync.ts";
import { PROTO as NET_PROTO } from "../core/net/packet.ts";
import { WHICH } from "../core/net/socket.ts";

Deno.test("schema enums: every value constant is derived from ENUMS (label order is the value)", () => {
  const derived: [EnumName, Record<string, number>][] = [
    ["switchReason", SWITCH_REASON],
    ["blockWhy", BLOCK_WHY],
    ["lockType", LOCK_TYPE],
    ["lockMode", LOCK_MODE],
    ["decision", DECISION],
    ["threadState", THREAD_STATE],
    ["threadKind", THREAD_KIND],
    ["sbWhich", SB_WHICH],
    ["proto", PROTO],
    ["unspliceReason", UNSPLICE_REASON],
  ];
  for (const [name, values] of derived) {
    const labels = ENUMS[name] as readonly string[];
    assertEquals(Object.keys(values).length, labels.length, name);
    labels.forEach((label, i) => {
      const key = label.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
      assertEquals(values[key], i, `${name}.${key}`);
    });
  }
  assertEquals(DECISION.wakeCpu, 3, "kebab-case labels become camelCase keys");
  assertEquals(enumValues("runEnd").allExited, ENUMS.runEnd.indexOf("all-exited"));
});

Deno.test("schema enums: the kernel's names for them are the schema's objects, not restatements", () => {
  assertEquals(MODE, LOCK_MODE);
  assertEquals(WHY, BLOCK_WHY);
  assertEquals(TS, THREAD_STATE);
  assertEquals(OBJ_THREAD_KIND, THREAD_KIND);
  assertEquals(NET_PROTO, PROTO);
  assertEquals(WHICH, SB_WHICH);
  // Same object identity: nothing to drift.
  assertEquals(MODE === LOCK_MODE && WHY === BLOCK_WHY && TS === THREAD_STATE, true);
});
