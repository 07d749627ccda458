/**
 * `deno task viewer [--dir runs] [--host 127.0.0.1] [--port 8080]`: serves the
 * viewer over the traces in `--dir`. Binds the loopback address unless told
 * otherwise; `--port 0` picks a free port. Prints the URL once listening.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { createApp } from "./app.ts";
import { bundleUi } from "./_bundle.ts";
import { hostsFor } from "./_http.ts";

/** Options of {@link serveViewer}. */
export interface ServeOptions {
  readonly dir: string;
  readonly host?: string;
  readonly port?: number;
  /** Called with the URL once listening (default: print it). */
  readonly onListen?: (url: string) => void;
}

/** A running viewer. */
export interface RunningViewer {
  readonly url: string;
  /** Stops the server and closes the cached trace readers. */
  close(): Promise<void>;
}

/**
 * Starts the viewer server.
 *
 * @example
 * ```ts
 * import { serveViewer } from "./main.ts";
 * const v = await serveViewer({ dir: "runs", port: 0, onListen: () => {} });
 * console.log(v.url);
 * await v.close();
 * ```
 */
export async function serveViewer(opts: ServeOptions): Promise<RunningViewer> {
  const hostname = opts.host ?? "127.0.0.1";
  // Filled in once the port is known (port 0 picks one).
  const hosts: string[] = [];
  // The index Worker loads while the UI is bundled; the server listens once both are done, so a page opened at
  // once does not share the CPUs with either (docs/viewer-first-open.md).
  const app = createApp({ dir: opts.dir, hosts, indexWorkers: 1, ui: bundleUi() });
  try {
    await app.ready;
  } catch (err) {
    app.close();
    throw err;
  }
  app.warm();
  return new Promise((resolve) => {
    const server = Deno.serve({
      hostname,
      port: opts.port ?? 8080,
      onListen: ({ port }) => {
        hosts.push(...hostsFor(hostname, port));
        const host = hostname.includes(":") ? `[${hostname}]` : hostname;
        const url = `http://${host}:${port}/`;
        (opts.onListen ?? ((u) => console.log(`lockstep viewer: ${u} (traces in ${opts.dir})`)))(url);
        resolve({
          url,
          close: async () => {
            await server.shutdown();
            app.close();
          },
        });
      },
    }, app.fetch);
  });
}

const USAGE = "usage: deno task viewer [--dir runs] [--host 127.0.0.1] [--port 8080]";

function usage(msg: string): never {
  console.error(`lockstep viewer: ${msg}\n${USAGE}`);
  Deno.exit(2);
}

/** `--help`: the same table of options as the other commands' help (cli/_help.ts), kept here as viewer/ imports no cli/. */
const HELP = [
  USAGE,
  "",
  "serve a web page browsing the recorded runs of a folder (loopback only unless --host says otherwise)",
  "",
  "  --dir DIR     the runs folder, every subfolder included (default runs)",
  "  --host HOST   the address to bind (default 127.0.0.1; requests naming another Host are refused)",
  "  --port PORT   the port (default 8080; 0 picks a free one)",
  "  --help, -h    print this help",
].join("\n");

if (import.meta.main) {
  if (Deno.args.includes("--help") || Deno.args.includes("-h")) {
    console.log(HELP);
    Deno.exit(0);
  }
  let values: { dir?: string; host?: string; port?: string };
  try {
    values = parseArgs({
      args: Deno.args,
      options: { dir: { type: "string" }, host: { type: "string" }, port: { type: "string" } },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (err) {
    usage((err as Error).message);
  }
  const dir = values.dir ?? "runs";
  const port = values.port === undefined ? 8080 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) usage(`bad --port '${values.port}'`);
  try {
    if (!Deno.statSync(dir).isDirectory) usage(`--dir ${dir} is not a folder`);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) usage(`--dir ${dir} does not exist`);
    throw err;
  }
  try {
    const v = await serveViewer({ dir, host: values.host, port });
    Deno.addSignalListener("SIGINT", () => v.close().then(() => Deno.exit(0)));
  } catch (err) {
    usage((err as Error).message.split("\n")[0]);
  }
}
