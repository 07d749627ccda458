import { assert, assertEquals } from "./_assert.ts";
import { machine } from "./_util.ts";
import type { KCode } from "../core/objects.ts";

Deno.test("refcount: free at zero names the freer; a release from device context frees without a thread", () => {
  const m = machine();
  const o = m.alloc("mbuf", 2);
  const p = m.alloc("mbuf", 1);
  m.spawn("user", function* (): KCode {
    m.ref(o);
    assertEquals(o.refs, 3);
    m.rele(o);
    m.rele(o);
    assert(m.rele(o), "the last reference frees");
    yield m.spend(100);
    m.touch(o, "m_copydata");
  });
  m.at(50_000, () => {
    assert(m.rele(p), "a device-context release frees too");
  });
  m.run();
  assert(o.freed && m.threads[o.freedBy - 1].name === "user");
  assert(p.freed);
  assertEquals(p.freedBy, 0);
  const uaf = m.violations.filter((v) => v.kind === "use-after-free");
  assertEquals(uaf.length, 1);
  assert(uaf[0].message.includes("m_copydata of mbuf#") && uaf[0].message.includes("freed by user"), uaf[0].message);
});
