// Runs the examples as a user would (`deno run -A examples/<name>/...`), for the registry tests.

import { REPO_ROOT } from "./env.ts";

/** An example server running as a child process. */
export interface ExampleServer {
  /** The child process. */
  readonly child: Deno.ChildProcess;
  /** Resolves with the "listening on host:port" address once the server printed it. */
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
  const ready = (async () => {
    let text = "";
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
  })();
  ready.catch(() => {});
  return {
    child,
    ready,
    async stop() {
      try {
        child.kill("SIGKILL");
      } catch {
        // already gone
      }
      await child.status;
      await reader.cancel().catch(() => {});
    },
  };
}

/** Runs `examples/<example>/client.ts` with `flags` to the end. */
export async function runExampleClient(
  example: string,
  flags: string[],
): Promise<{ code: number; out: string; err: string }> {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `examples/${example}/client.ts`, ...flags],
    cwd: REPO_ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: r.code, out: dec.decode(r.stdout), err: dec.decode(r.stderr) };
}
