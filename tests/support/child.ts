// A server started in a child process that says on stdout when it is ready (the Go peer's
// `LISTENING host:port`, an example's `listening on network@address`).

import assert from "node:assert/strict";
import { bounded, REPO_ROOT } from "./env.ts";

/** A child process whose stdout printed its ready line. */
export interface ReadyChild {
  /** The child process. */
  readonly child: Deno.ChildProcess;
  /** The `ready` pattern's match in stdout (its groups name the address). */
  readonly match: RegExpMatchArray;
  /**
   * Sends `signal` (default: the start option `stopSignal`) unless the child has exited, waits
   * for it to exit (SIGKILL after 10 s) and closes its stdout. Safe to call twice.
   */
  stop(signal?: Deno.Signal): Promise<void>;
  /** What the child wrote to stderr so far (with the start option `stderr: "piped"`; else ""). */
  stderrText(): string;
}

/** How {@link startReady} runs the child. */
export interface StartReadyOptions {
  /** Matched against everything read from stdout so far; the child is ready once it matches. */
  ready: RegExp;
  /** What is waited for, for the timeout error ("the Go server's LISTENING line"). */
  what: string;
  /** How long the child may take to print its ready line, in ms (default 15 000). */
  timeoutMs?: number;
  /** The signal `stop()` sends by default (default SIGKILL). */
  stopSignal?: Deno.Signal;
  /** Where the child's stderr goes (default "null"; "piped": kept for `stderrText()`). */
  stderr?: "inherit" | "null" | "piped";
  /** The child's working directory. */
  cwd?: string;
  /** Added to the child's environment. */
  env?: Record<string, string>;
}

/**
 * Runs `cmd args` and resolves once its stdout matches `ready` (then stdout keeps being drained,
 * so the child never blocks on a full pipe). When the child exits first or stays silent for
 * `timeoutMs`, it is killed (SIGKILL) and this rejects with what it printed.
 */
export async function startReady(
  cmd: string,
  args: string[],
  { ready, what, timeoutMs = 15_000, stopSignal = "SIGKILL", stderr = "null", cwd, env }:
    StartReadyOptions,
): Promise<ReadyChild> {
  const child = new Deno.Command(cmd, { args, cwd, env, stdout: "piped", stderr }).spawn();
  let errText = "";
  const errDrained = stderr !== "piped" ? Promise.resolve() : (async () => {
    try {
      for await (const t of child.stderr.pipeThrough(new TextDecoderStream())) errText += t;
    } catch { /* closed */ }
  })();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const stop = async (signal: Deno.Signal = stopSignal) => {
    try {
      child.kill(signal);
    } catch {
      // exited
    }
    // A child that ignores a gentle signal is killed after 10 s.
    await exited(child, 10_000, `${cmd} to exit on ${signal}`).catch(() => {});
    await reader.cancel().catch(() => {});
    await errDrained;
  };
  let text = "";
  let match: RegExpMatchArray | null = null;
  try {
    await bounded(
      (async () => {
        while ((match = text.match(ready)) === null) {
          const { value, done } = await reader.read();
          if (done) throw new Error(`${cmd} exited before ${what}: ${text}`);
          text += value;
        }
      })(),
      timeoutMs,
      what,
    );
  } catch (e) {
    await stop("SIGKILL");
    throw e;
  }
  void (async () => {
    try {
      while (!(await reader.read()).done) { /* drain */ }
    } catch { /* closed */ }
  })();
  return { child, match: match!, stop, stderrText: () => errText };
}

/** How {@link runBounded} runs a command. */
export interface RunBoundedOptions {
  /** Arguments. */
  args?: string[];
  /** Working directory. */
  cwd?: string;
  /** Added to the environment. */
  env?: Record<string, string>;
  /** stdin (default "null"). */
  stdin?: "null" | "inherit";
  /** How long it may run, in ms (default 60 000); past it the child is killed and this throws. */
  timeoutMs?: number;
  /** What runs, for the timeout error (default the command line). */
  what?: string;
}

/**
 * `new Deno.Command(cmd, …).output()` with stdout and stderr piped, within a bound: a child still
 * running after `timeoutMs` is killed (SIGKILL) and this rejects, so a hung child fails the test
 * instead of hanging it.
 */
export async function runBounded(
  cmd: string,
  { args = [], cwd, env, stdin = "null", timeoutMs = 60_000, what }: RunBoundedOptions = {},
): Promise<Deno.CommandOutput> {
  const child = new Deno.Command(cmd, { args, cwd, env, stdin, stdout: "piped", stderr: "piped" })
    .spawn();
  const output = child.output();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<"timeout">((
    r,
  ) => (timer = setTimeout(() => r("timeout"), timeoutMs)));
  try {
    const first = await Promise.race([output, timedOut]);
    if (first !== "timeout") return first;
  } finally {
    clearTimeout(timer);
  }
  try {
    child.kill("SIGKILL");
  } catch {
    // exited just now
  }
  // A grandchild may hold the pipes open: do not wait for them for long.
  const out = await bounded(output, 5000, "the killed child's output").catch(() => undefined);
  const err = out ? new TextDecoder().decode(out.stderr).slice(-2000) : "";
  throw new Error(
    `${what ?? [cmd, ...args].join(" ")} ran longer than ${timeoutMs} ms and was killed\n${err}`,
  );
}

/**
 * The child's exit status within `timeoutMs`; past it the child is killed (SIGKILL) and this
 * rejects with `what`.
 */
export async function exited(
  child: Deno.ChildProcess,
  timeoutMs: number,
  what: string,
): Promise<Deno.CommandStatus> {
  try {
    return await bounded(child.status, timeoutMs, what);
  } catch (e) {
    try {
      child.kill("SIGKILL");
    } catch {
      // exited just now
    }
    await child.status;
    throw e;
  }
}

/** How {@link denoScriptJson} runs its script. */
export interface DenoScriptOptions {
  /** `deno run` flags besides `--no-prompt --no-lock` (permissions, `--no-check`, `--config`). */
  flags?: string[];
  /** The script's own arguments. */
  args?: string[];
  /** Added to the environment. */
  env?: Record<string, string>;
  /** How long it may run, in ms (default 60 000). */
  timeoutMs?: number;
}

/**
 * Writes `script` (TypeScript) to a temporary file and runs it in a child
 * `deno run --no-prompt --no-lock <flags> <file> <args>` from the repository root, within
 * `timeoutMs`: asserts it exited 0 (its stderr as the message) and returns the last line of its
 * stdout, parsed as JSON. For what a process with other permissions or settings sees.
 */
export async function denoScriptJson<T>(script: string, o: DenoScriptOptions = {}): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "rpcx-script-" });
  try {
    const file = `${dir}/script.ts`;
    await Deno.writeTextFile(file, script);
    const out = await runBounded(Deno.execPath(), {
      args: ["run", "--no-prompt", "--no-lock", ...o.flags ?? [], file, ...o.args ?? []],
      cwd: REPO_ROOT,
      env: o.env,
      timeoutMs: o.timeoutMs,
    });
    const dec = new TextDecoder();
    assert.equal(out.code, 0, `the script failed: ${dec.decode(out.stderr)}`);
    return JSON.parse(dec.decode(out.stdout).trim().split("\n").pop()!) as T;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
