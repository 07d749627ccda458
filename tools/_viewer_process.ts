/**
 * A viewer server in a new process, as a user starts it (`deno task viewer
 * --dir DIR --port 0`): used by the browser tests and by viewer-cold.
 * @module
 */

/** A running viewer process. */
export interface ViewerProcess {
  /** The URL it printed once listening. */
  readonly url: string;
  readonly child: Deno.ChildProcess;
  /** Stops it and waits for its end. */
  close(): Promise<void>;
}

/** Starts `main` (a checkout's viewer/main.ts) on `dir` with a free port; resolves once it prints its URL. */
export async function startViewer(main: string, dir: string): Promise<ViewerProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      "--allow-write",
      "--allow-net",
      "--allow-env",
      "--allow-run",
      main,
      "--dir",
      dir,
      "--port",
      "0",
    ],
    stdout: "piped",
    stderr: "inherit",
    cwd: new URL("../..", `file://${main}`).pathname,
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error("the viewer exited before listening");
    text += value;
    const m = text.match(/(http:\/\/\S+\/)/);
    if (m) {
      // Keep draining stdout so the child never blocks on a full pipe.
      const drained = (async () => {
        while (!(await reader.read()).done);
      })();
      return {
        url: m[1],
        child,
        close: async () => {
          child.kill("SIGTERM");
          await child.status;
          await drained;
        },
      };
    }
  }
}
