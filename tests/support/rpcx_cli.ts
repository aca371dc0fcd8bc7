// The `rpcx` command line (src/cli/main.ts) run as a real subprocess, as a user runs it.
import { runBounded } from "./child.ts";
import { bounded, REPO_ROOT, waitFor } from "./env.ts";

/** The CLI entry. */
export const CLI_MAIN = `${REPO_ROOT}/src/cli/main.ts`;

/** What one run printed and its exit code. */
export interface CliRun {
  code: number;
  out: string;
  err: string;
}

const decoder = new TextDecoder();

/**
 * Runs `rpcx ...args` to the end (killed, and this rejects, after `timeoutMs`), with `env` added
 * to the environment.
 */
export async function rpcx(
  args: string[],
  timeoutMs = 60_000,
  env: Record<string, string> = {},
): Promise<CliRun> {
  const r = await runBounded(Deno.execPath(), {
    args: ["run", "-A", "--no-check", CLI_MAIN, ...args],
    cwd: REPO_ROOT,
    env: { NO_COLOR: "1", ...env },
    timeoutMs,
    what: `rpcx ${args.join(" ")}`,
  });
  return { code: r.code, out: decoder.decode(r.stdout), err: decoder.decode(r.stderr) };
}

/** A long-running `rpcx` (watch, ui) whose stdout is collected as it comes. */
export interface CliProcess {
  /** Everything printed to stdout so far. */
  readonly out: string;
  /** Sends SIGINT and waits for the exit; resolves with the exit code. */
  stop(): Promise<number>;
  /** The exit status once it ends by itself. */
  readonly status: Promise<Deno.CommandStatus>;
  /** How it ended (`code 139 (SIGSEGV)`) once it has, else undefined: for waits to fail on. */
  readonly ended: string | undefined;
}

/** How `rpcx` is started: the command, the arguments before rpcx's own, the folder. */
export interface RpcxLauncher {
  cmd: string;
  pre: string[];
  cwd: string;
}

/** `deno run -A src/cli/main.ts` in the repository. */
export const DENO_RPCX: RpcxLauncher = {
  cmd: Deno.execPath(),
  pre: ["run", "-A", "--no-check", CLI_MAIN],
  cwd: REPO_ROOT,
};

/**
 * Starts `rpcx ...args` in the background (`env` added to the environment), with Deno or
 * another `launcher` (the npm form's bin under Node or Bun).
 */
export function spawnRpcx(
  args: string[],
  env: Record<string, string> = {},
  launcher: RpcxLauncher = DENO_RPCX,
): CliProcess {
  const child = new Deno.Command(launcher.cmd, {
    args: [...launcher.pre, ...args],
    cwd: launcher.cwd,
    env: { NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  let out = "";
  let ended: string | undefined;
  child.status.then((s) => ended = `code ${s.code}${s.signal ? ` (${s.signal})` : ""}`);
  const reading = (async () => {
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) out += chunk;
  })();
  return {
    get out() {
      return out;
    },
    status: child.status,
    get ended() {
      return ended;
    },
    async stop() {
      try {
        child.kill("SIGINT");
      } catch {
        // already exited
      }
      const timer = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch {
          // exited
        }
      }, 10_000);
      const s = await child.status;
      clearTimeout(timer);
      // A grandchild could hold stdout open: the reading ends with the child, or soon after.
      await bounded(reading, 5000, "rpcx's stdout to end").catch(() => {});
      return s.code;
    },
  };
}

/**
 * Waits (at most 30 s; `what` names the wait) until `ui`, a spawned `rpcx ui`, printed that it
 * serves at `origin` (`http://host:port`).
 */
export async function uiServing(
  ui: CliProcess,
  origin: string,
  what = "rpcx ui listening",
): Promise<void> {
  await waitFor(what, () => ui.out.includes(`rpcx ui: ${origin}/`), 30_000);
}
