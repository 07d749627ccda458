import assert from "node:assert/strict";
import { COST_KEYS, MACHINE_KEYS, resolveConfig } from "../core/config.ts";
import type { EventRecord } from "../core/event.ts";
import { Machine } from "../core/machine.ts";
import { NET_KEYS } from "../core/net/config.ts";
import { M_MAXLOOP, PROTO } from "../core/net/packet.ts";
import { ERR } from "../core/net/socket.ts";
import { sosplice, UNSPLICE } from "../core/net/splice.ts";
import { createNetStack } from "../core/net/mod.ts";
import { KIND } from "../core/schema.ts";

Deno.test("loopback: a splice whose drain sends back into its source stops with ELOOP after M_MAXLOOP", () => {
  const cfg = resolveConfig([MACHINE_KEYS, NET_KEYS, COST_KEYS], { cpus: "2" });
  const unspliced: number[][] = [];
  let rx = 0;
  const sink = {
    onEvent(e: EventRecord) {
      if (e.kind === KIND.unsplice) unspliced.push(Array.from(e.fields.slice(0, 4)));
      if (e.kind === KIND.ipInput) rx++;
    },
  };
  const m = new Machine({ config: cfg, seed: 1, sinks: [sink] });
  const st = createNetStack(m, cfg);
  const lo = st.attachIf("lo0", 4, 1, () => {
    throw new Error("loopback never transmits");
  }, true);
  // a (port 1000) is spliced into b (port 1001), and b is connected back to a.
  const a = st.socket(PROTO.udp, 1, 1000, 1001, 4, 0);
  const b = st.socket(PROTO.udp, 2, 1001, 1000, 4, 0);
  let err = -1;
  m.spawn("user", function* () {
    err = yield* sosplice(st, a, b, 0, 0);
    const p = st.pool.get(PROTO.udp, 1, 100);
    p.sport = 1001;
    p.dport = 1000;
    st.acct.wireBytes += p.len;
    yield* st.ifiqInput(lo.ifiqs[0], [p]);
  });
  m.run();
  assert.equal(err, 0);
  assert.equal(a.error, ERR.ELOOP);
  assert.deepEqual(unspliced.map((u) => u[2]), [UNSPLICE.eloop]);
  assert.equal(rx, M_MAXLOOP + 1, "the datagram went round M_MAXLOOP times, then stayed in so_rcv");
  assert.equal(a.rcv.cc, 100);
});
