// Runs the examples as a user would (`deno run -A examples/<name>/...`), for the registry tests.

import { runBounded } from "./child.ts";
import { bounded, REPO_ROOT } from "./env.ts";

/** An example server running as a child process. */
export interface ExampleServer {
  /** The child process. */
  readonly child: Deno.ChildProcess;
  /**
   * Resolves with the "listening on host:port" address once the server printed it; rejects (and
   * kills the child) when it exits first or stays silent for 30 s.
   */
  readonly ready: Promise<string>;
  /** SIGKILL if still running; safe to call twice. */
  stop(): Promise<void>;
}

/** Starts `examples/<example>/server.ts` with `flags`. */
export function startExampleServer(example: string, flags: string[]): ExampleServer {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `examples/${example}/server.ts`, ...flags],
    cwd: REPO_ROOT,
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const stop = async () => {
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
    await child.status;
    await reader.cancel().catch(() => {});
  };
  let text = "";
  const ready = bounded(
    (async () => {
      while (!/listening on \S+/.test(text)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`${example} server exited: ${text}`);
        text += value;
      }
      // keep draining so the child never blocks on a full pipe
      void (async () => {
        while (!(await reader.read().catch(() => ({ done: true }))).done) { /* drain */ }
      })();
      return text.match(/listening on (\S+)/)![1];
    })(),
    30_000,
    `the ${example} server's "listening on" line`,
  ).catch(async (e) => {
    await stop();
    throw new Error(`${(e as Error).message}; it printed: ${JSON.stringify(text)}`);
  });
  ready.catch(() => {});
  return { child, ready, stop };
}

/** Runs `examples/<example>/client.ts` with `flags` to the end (killed after `timeoutMs`). */
export async function runExampleClient(
  example: string,
  flags: string[],
  timeoutMs = 60_000,
): Promise<{ code: number; out: string; err: string }> {
  const r = await runBounded(Deno.execPath(), {
    args: ["run", "-A", `examples/${example}/client.ts`, ...flags],
    cwd: REPO_ROOT,
    timeoutMs,
  });
  const dec = new TextDecoder();
  return { code: r.code, out: dec.decode(r.stdout), err: dec.decode(r.stderr) };
}
