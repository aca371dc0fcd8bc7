// Child processes for the bench/ scripts: a server started in its own process that prints
// `LISTENING addr` on stdout, and a load generator whose last stdout line is a JSON result.

/** A server running in a child process, listening at `addr`. */
export interface ServerProcess {
  /** What the server printed after `LISTENING ` (host:port, or a socket path). */
  addr: string;
  /** The child's process id (for /proc readings). */
  pid: number;
  /** Sends the stop signal and waits for the process to exit. */
  stop(): Promise<void>;
}

/** How {@link startServer} runs the child. */
export interface StartOptions {
  /** Where the child's stderr goes; default "inherit". */
  stderr?: "inherit" | "null";
  /** The signal `stop()` sends; default "SIGTERM". */
  signal?: Deno.Signal;
  /** How long the child may take to print its LISTENING line, in ms; default 30 000. */
  timeoutMs?: number;
}

/**
 * Runs `cmd args` and waits for a `LISTENING addr` line on its stdout (the rest of stdout is
 * drained). Throws, and kills the child, when it exits or stays silent for `timeoutMs` first.
 */
export async function startServer(
  cmd: string,
  args: string[],
  { stderr = "inherit", signal = "SIGTERM", timeoutMs = 30_000 }: StartOptions = {},
): Promise<ServerProcess> {
  const child = new Deno.Command(cmd, { args, stdout: "piped", stderr }).spawn();
  const stop = async (sig: Deno.Signal) => {
    try {
      child.kill(sig);
    } catch {
      // exited
    }
    await child.status;
  };
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${cmd}: no LISTENING line in ${timeoutMs / 1000} s: ${text}`)),
      timeoutMs,
    );
  });
  try {
    while (!/LISTENING \S+/.test(text)) {
      const { value, done } = await Promise.race([reader.read(), timeout]);
      if (done) throw new Error(`server did not start: ${cmd} ${args.join(" ")}: ${text}`);
      text += value;
    }
  } catch (e) {
    await reader.cancel().catch(() => {});
    await stop("SIGKILL");
    throw e;
  } finally {
    clearTimeout(timer);
  }
  void (async () => {
    while (!(await reader.read().catch(() => ({ done: true }))).done) { /* drain */ }
  })();
  return {
    addr: text.match(/LISTENING (\S+)/)![1],
    pid: child.pid,
    stop: () => stop(signal),
  };
}

/**
 * Runs `cmd args` to its end (stderr inherited) and parses the last stdout line that starts
 * with `{` as JSON; undefined when there is none.
 */
export async function runJson<T>(cmd: string, args: string[]): Promise<T | undefined> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "inherit" }).output();
  const line = new TextDecoder().decode(out.stdout).trim().split("\n")
    .filter((l) => l.startsWith("{")).pop();
  return line ? JSON.parse(line) as T : undefined;
}

/** The JSON line the load generators print (`rpcxpeer bench*`, bench/e2e.ts, bench/xclient_load.ts). */
export interface LoadResult {
  calls: number;
  errors: number;
  calls_per_sec: number;
  p50_us: number;
  p99_us: number;
  /** The client process's CPU time (user + system) per call in µs, where it reports one. */
  cpu_us_per_call?: number;
  first_error?: string;
}
