/** Running lockstep's command line from tests: one helper for every test that spawns `cli/main.ts`. */

/** What a command printed and its exit status. */
export interface CliOut {
  code: number;
  out: string;
  err: string;
}

/** Where and how a command runs. */
export interface CliOptions {
  /** Working directory (default: the test process's). */
  cwd?: string;
  /** More environment (NO_COLOR=1 and RUST_BACKTRACE=0 are always set). */
  env?: Record<string, string>;
  /** Deno permissions (default: read, write and env, as the tasks grant). */
  perms?: string[];
  /** The module to run (default: cli/main.ts). */
  entry?: string;
}

const MAIN = new URL("../cli/main.ts", import.meta.url).pathname;

/** Runs `entry args...` in a new Deno process and collects its output. */
export async function runCli(args: string[], opts: CliOptions = {}): Promise<CliOut> {
  const o = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...(opts.perms ?? ["--allow-read", "--allow-write", "--allow-env"]), opts.entry ?? MAIN, ...args],
    cwd: opts.cwd,
    env: { NO_COLOR: "1", RUST_BACKTRACE: "0", ...opts.env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: o.code, out: new TextDecoder().decode(o.stdout), err: new TextDecoder().decode(o.stderr) };
}

/** `runCli` with the defaults. */
export function cli(...args: string[]): Promise<CliOut> {
  return runCli(args);
}
