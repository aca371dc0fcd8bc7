// A server started in a child process that says on stdout when it is ready (the Go peer's
// `LISTENING host:port`, an example's `listening on network@address`).

import { bounded } from "./env.ts";

/** A child process whose stdout printed its ready line. */
export interface ReadyChild {
  /** The child process. */
  readonly child: Deno.ChildProcess;
  /** The `ready` pattern's match in stdout (its groups name the address). */
  readonly match: RegExpMatchArray;
  /**
   * Sends `signal` (default: the start option `stopSignal`) unless the child has exited, waits
   * for it to exit and closes its stdout. Safe to call twice.
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
}

/**
 * Runs `cmd args` and resolves once its stdout matches `ready` (then stdout keeps being drained,
 * so the child never blocks on a full pipe). When the child exits first or stays silent for
 * `timeoutMs`, it is killed (SIGKILL) and this rejects with what it printed.
 */
export async function startReady(
  cmd: string,
  args: string[],
  { ready, what, timeoutMs = 15_000, stopSignal = "SIGKILL", stderr = "null", cwd }:
    StartReadyOptions,
): Promise<ReadyChild> {
  const child = new Deno.Command(cmd, { args, cwd, stdout: "piped", stderr }).spawn();
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
    await child.status;
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
