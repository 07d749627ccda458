/**
 * Serving: indexes are built in a Worker while the server keeps answering
 * (202 with progress, then 200); subfolders of the runs folder are listed
 * (explore findings under runs/explore/); names that cannot be run ids are
 * listed with the reason; the Host header must name the bound address (421
 * otherwise, over a real socket, as a DNS-rebinding page would connect); the
 * index persisted beside a trace serves a new server at once; a large run's
 * preview is built in the worker while the run list, a small run and the
 * schema are answered; a starting server prepares previews and a request
 * makes such a job whole; comparisons of large runs run in a Worker with
 * progress while the server keeps answering.
 */
import { assert, assertEquals } from "./_assert.ts";
import { recordRun } from "../cli/run.ts";
import { createApp } from "../viewer/app.ts";
import { serveViewer } from "../viewer/main.ts";
import { INDEX_SUFFIX, IndexPending, PREVIEW_EVENTS, RunQueries, SYNC_INDEX_BYTES_MAX } from "../replay/query.ts";

/** One raw HTTP/1.1 GET with a chosen Host header; returns the status code. */
async function rawGet(port: number, path: string, host: string): Promise<number> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(new TextEncoder().encode(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`));
    const buf = new Uint8Array(256);
    const n = await conn.read(buf);
    const head = new TextDecoder().decode(buf.subarray(0, n ?? 0));
    return Number(head.split(" ")[1]);
  } finally {
    conn.close();
  }
}

Deno.test({
  name: "viewer serving: subfolders, unusual names, host check, background index",
  sanitizeOps: false,
  sanitizeResources: false,
}, async (t) => {
  const dir = Deno.makeTempDirSync({ prefix: "lockstep-serve-" });
  let stormDetail: unknown, stormTimeline: unknown;
  recordRun({ scenario: "taskq-demo", seed: 1, overrides: {}, out: `${dir}/taskq-demo-1.lstrace` });
  recordRun({ scenario: "lock-abba", seed: 3, overrides: {}, out: `${dir}/explore/lock-abba/lock-abba-3.lstrace` });
  Deno.copyFileSync(`${dir}/taskq-demo-1.lstrace`, `${dir}/with space.lstrace`);
  Deno.copyFileSync(`${dir}/taskq-demo-1.lstrace`, `${dir}/.hidden.lstrace`);
  Deno.mkdirSync(`${dir}/.cache`);
  Deno.copyFileSync(`${dir}/taskq-demo-1.lstrace`, `${dir}/.cache/x.lstrace`);
  Deno.copyFileSync(`${dir}/taskq-demo-1.lstrace`, `${dir}/odd#name.lstrace`);
  try {
    await t.step("lists subfolders and explains names it cannot offer", async () => {
      const app = createApp({ dir });
      const body = await (await app.request("/api/runs")).json();
      const ids = body.runs.map((r: { id: string }) => r.id);
      assertEquals(ids, ["explore/lock-abba/lock-abba-3", "taskq-demo-1", "with space"]);
      const abba = body.runs[0];
      assertEquals(abba.status, "violations", "the explore finding shows its deadlock");
      const detail = await app.request(`/api/runs/${encodeURIComponent("explore/lock-abba/lock-abba-3")}`);
      assertEquals(detail.status, 200);
      const skipped = new Map(body.skipped.map((s: { path: string; reason: string }) => [s.path, s.reason]));
      assertEquals([...skipped.keys()].sort(), [".cache/", ".hidden.lstrace", "odd#name.lstrace"]);
      assert(String(skipped.get(".hidden.lstrace")).includes("dot"));
      assert(String(skipped.get(".cache/")).includes("not searched"));
      for (const bad of ["..%2Fx", "explore%2F..%2Ftaskq-demo-1", "%2Fetc%2Fpasswd", "explore%2F%2Fx"]) {
        assertEquals((await app.request(`/api/runs/${bad}`)).status, 400, bad);
      }
      app.close();
    });

    await t.step("Host header must name the bound address (421 otherwise)", async () => {
      const v = await serveViewer({ dir, port: 0, onListen: () => {} });
      const port = Number(new URL(v.url).port);
      try {
        assertEquals(await rawGet(port, "/api/schema", `127.0.0.1:${port}`), 200);
        assertEquals(await rawGet(port, "/api/schema", `localhost:${port}`), 200);
        assertEquals(await rawGet(port, "/api/runs", `evil.example:${port}`), 421);
        assertEquals(await rawGet(port, "/", `127.0.0.1:${port + 1}`), 421);
      } finally {
        await v.close();
      }
    });

    await t.step("index built in a worker: 202 with progress, other requests answered, then 200", async () => {
      const rec = recordRun({
        scenario: "mutex-storm",
        seed: 1,
        overrides: { "sim.eventsMax": "1500000", "sim.durationNs": "100000000000" },
        out: `${dir}/storm.lstrace`,
      });
      // The index job is held until the first answer, so that answer is the 202 whatever the machine's speed.
      let open = () => {};
      const app = createApp({ dir, indexWorkers: 1, indexGate: new Promise<void>((res) => open = res) });
      try {
        const first = await app.request("/api/runs/storm");
        const pending = await first.json();
        assertEquals(first.status, 202);
        assertEquals(pending.indexing, true);
        assert(pending.of > 1_000_000, `progress names the event count: ${JSON.stringify(pending)}`);
        open();
        // The index builds in a Worker, so another request is answered while the run is
        // still pending (no timing asserted: the bench and deno task viewer-cold measure that).
        const schema = await app.request("/api/schema");
        await schema.body?.cancel();
        assertEquals(schema.status, 200);
        let status = 202, polls = 0;
        while (status === 202 && polls++ < 600) {
          const r = await app.request("/api/runs/storm");
          status = r.status;
          await r.body?.cancel();
          if (status === 202) await new Promise((res) => setTimeout(res, 50));
        }
        assertEquals(status, 200);
        const d = await (await app.request("/api/runs/storm")).json();
        assertEquals(d.events, rec.events);
        const tl = await (await app.request("/api/runs/storm/timeline?px=500")).json();
        assert(tl.cpus.some((c: { slices: unknown[] }) => c.slices.length > 0), "the revived grid answers timelines");
        stormDetail = d;
        stormTimeline = tl;
      } finally {
        open();
        app.close();
      }
    });

    await t.step("a new server opens the run from its persisted index: the whole run, the same figures", async () => {
      assert(
        Deno.statSync(`${dir}/storm.lstrace${INDEX_SUFFIX}`).isFile,
        "the worker saved the index beside the trace",
      );
      const v = await serveViewer({ dir, port: 0, onListen: () => {} });
      try {
        // Read on the request (its head and meta; each array when a query first needs it): no 202, no preview.
        const r = await fetch(`${v.url}api/runs/storm/preview`);
        assertEquals(r.status, 200);
        const got = await r.json();
        assertEquals(got.preview, undefined, "the whole run, not a preview");
        assertEquals(got, stormDetail);
        assertEquals(await (await fetch(`${v.url}api/runs/storm`)).json(), stormDetail);
        const tl = await (await fetch(`${v.url}api/runs/storm/timeline?px=500`)).json();
        assertEquals(tl, stormTimeline);
      } finally {
        await v.close();
      }
    });

    await t.step("a large run's preview is built in the worker: other requests are answered meanwhile", async () => {
      const rec = recordRun({
        scenario: "mutex-storm",
        seed: 5,
        overrides: { "sim.eventsMax": "400000", "sim.durationNs": "100000000000" },
        out: `${dir}/fresh.lstrace`,
      });
      assert(rec.events > PREVIEW_EVENTS && Deno.statSync(`${dir}/fresh.lstrace`).size > SYNC_INDEX_BYTES_MAX);
      let open = () => {};
      const gate = new Promise<void>((res) => open = res);
      const app = createApp({ dir, indexWorkers: 1, indexGate: gate });
      try {
        const order: string[] = [];
        // The page asks for the preview first; the server holds that request (a promise, not a busy thread)
        // while the index worker has not built it.
        const preview = Promise.resolve(app.request("/api/runs/fresh/preview")).then((
          res,
        ) => (order.push("preview"), res));
        const list = await app.request("/api/runs");
        order.push("list");
        const listed = (await list.json()).runs.find((x: { id: string }) => x.id === "fresh");
        assertEquals(listed.status, "indexing");
        const small = await app.request("/api/runs/taskq-demo-1");
        order.push("small run");
        assertEquals(small.status, 200);
        const asset = await app.request("/api/schema");
        order.push("schema");
        assertEquals(asset.status, 200);
        assertEquals(order, ["list", "small run", "schema"], "answered while the preview request waits");
        open();
        // Once the worker runs: the held request (or the page's next one) gets the preview of the first events.
        let res = await preview, polls = 0;
        while (res.status === 202 && polls++ < 600) res = await app.request("/api/runs/fresh/preview");
        assertEquals(res.status, 200);
        const got = await res.json();
        if (got.preview) {
          assertEquals(got.events, PREVIEW_EVENTS);
          assertEquals(got.preview.eventsTotal, rec.events);
        } else assertEquals(got.events, rec.events, "or, on a fast machine, already the whole run");
        let whole = await app.request("/api/runs/fresh");
        for (polls = 0; whole.status === 202 && polls++ < 600;) whole = await app.request("/api/runs/fresh");
        assertEquals((await whole.json()).events, rec.events);
      } finally {
        open();
        app.close();
      }
    });

    await t.step("ready: the index Worker has loaded and the UI is served; a bundling failure rejects", async () => {
      const app = createApp({ dir, indexWorkers: 1, ui: Promise.resolve("/* the UI */") });
      try {
        let settled = false;
        const timeout = new Promise((_, no) => setTimeout(() => settled || no(new Error("not ready in 20 s")), 20_000));
        await Promise.race([app.ready.then(() => void (settled = true)), timeout]);
        assertEquals(await (await app.request("/static/main.js")).text(), "/* the UI */");
      } finally {
        app.close();
      }
      const broken = createApp({ dir, indexWorkers: 1, ui: Promise.reject(new Error("bundling the UI failed: x")) });
      try {
        const err = await broken.ready.then(() => undefined, (e: Error) => e);
        assertEquals(err?.message, "bundling the UI failed: x");
      } finally {
        broken.close();
      }
    });

    await t.step(
      "warm: a first view's queries run once on the newest run whose index or preview is at hand",
      async () => {
        const only = Deno.makeTempDirSync({ dir, prefix: "warm-" });
        try {
          Deno.copyFileSync(`${dir}/fresh.lstrace`, `${only}/big.lstrace`);
          const q = new RunQueries(only, { backgroundWorkers: 1 });
          try {
            const listed = q.list().runs.find((r) => r.id === "big");
            assertEquals([listed?.status, listed?.indexed], ["unknown", false], "listing starts no index job");
            assertEquals(q.warm(), undefined, "a never-indexed large run without a preview yet: nothing at hand");
            q.prepare();
            await q.prepared();
            assertEquals(q.warm(), "big", "its prepared preview");
            let whole = true;
            try {
              q.detail("big");
            } catch (err) {
              if (!(err instanceof IndexPending)) throw err;
              whole = false;
            }
            assert(!whole, "warming did not build the whole index on this thread");
          } finally {
            q.close();
          }
          Deno.copyFileSync(`${dir}/taskq-demo-1.lstrace`, `${only}/small.lstrace`);
          const w = new RunQueries(only, { backgroundWorkers: 1 });
          try {
            assertEquals(w.warm(), "small", "the newest run with an index at hand (a small one is indexed at once)");
          } finally {
            w.close();
          }
        } finally {
          Deno.removeSync(only, { recursive: true });
        }
      },
    );

    await t.step("a starting server prepares the preview of a large run, then builds it whole when asked", async () => {
      const sync = new RunQueries(dir);
      const want = sync.detail("fresh");
      sync.close();
      Deno.removeSync(`${dir}/fresh.lstrace${INDEX_SUFFIX}`); // never indexed, as far as the next server knows
      const q = new RunQueries(dir, { backgroundWorkers: 1 });
      try {
        q.prepare();
        // The speculative job reports its preview and its end; a request meanwhile would make it whole anyway.
        for (let i = 0; i < 2; i++) await q.changed(5000);
        const got = q.preview("fresh");
        assertEquals(got.preview?.eventsTotal, want.events, "a preview of the first events");
        assertEquals(got.events, PREVIEW_EVENTS);
        let whole: unknown, polls = 0;
        while (whole === undefined && polls++ < 600) {
          try {
            whole = q.detail("fresh");
          } catch (err) {
            if (!(err instanceof IndexPending)) throw err;
            await q.changed(1000);
          }
        }
        assertEquals(whole, want, "asked for, the speculative job goes on to the whole index");
      } finally {
        q.close();
      }
    });

    await t.step(
      "comparison in a worker: 202 with progress, other requests answered, then the divergence",
      async () => {
        // The same run stopped at two event limits: identical for 290 000 events, then one ends.
        // Both are past SYNC_INDEX_BYTES_MAX, so they are indexed and compared in Workers.
        for (const [name, max] of [["cmp-a", "300000"], ["cmp-b", "290000"]]) {
          recordRun({
            scenario: "mutex-storm",
            seed: 2,
            overrides: { "sim.eventsMax": max, "sim.durationNs": "100000000000" },
            out: `${dir}/${name}.lstrace`,
          });
          assert(Deno.statSync(`${dir}/${name}.lstrace`).size > SYNC_INDEX_BYTES_MAX);
        }
        const q = new RunQueries(dir);
        const want = q.compare("cmp-a", "cmp-b");
        q.close();
        assert(want.divergence !== null && want.divergence.event >= 290_000, "a long common prefix");
        const v = await serveViewer({ dir, port: 0, onListen: () => {} });
        try {
          const url = `${v.url}api/compare?a=cmp-a&b=cmp-b`;
          let r = await fetch(url), polls = 0, compared = false;
          while (r.status === 202 && polls++ < 1200) {
            const p = await r.json();
            assert(p.of > 0 && p.done <= p.of, JSON.stringify(p));
            compared ||= p.comparing === true;
            const other = await fetch(`${v.url}api/runs`);
            await other.body?.cancel();
            assertEquals(other.status, 200, "the server answers while comparing");
            await new Promise((res) => setTimeout(res, 50));
            r = await fetch(url);
          }
          assertEquals(r.status, 200);
          assert(compared, "the page is told a comparison is running, with its progress");
          assertEquals(await r.json(), want, "the worker finds what the synchronous comparison finds");
        } finally {
          await v.close();
        }
      },
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
