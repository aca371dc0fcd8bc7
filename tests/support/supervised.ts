// A registry server run by the tests (etcd, Consul): its output goes to a log file in the
// test's temp dir, and a watchdog kills it and removes that dir if the test process dies
// first (Deno does not end children when it exits).

import { delay, waitFor } from "./env.ts";

/** One running server process. */
export class SupervisedProcess {
  readonly #child: Deno.ChildProcess;
  readonly #watchdog: Deno.ChildProcess;
  readonly #logs: Promise<void>;
  readonly logFile: string;
  #exited = false;
  #halted: Promise<void> | undefined;

  private constructor(
    child: Deno.ChildProcess,
    watchdog: Deno.ChildProcess,
    logs: Promise<void>,
    logFile: string,
  ) {
    this.#child = child;
    this.#watchdog = watchdog;
    this.#logs = logs;
    this.logFile = logFile;
    child.status.then(() => (this.#exited = true));
  }

  /** Starts `bin args`; `root` is the temp dir the watchdog removes, the log goes inside it. */
  static async spawn(
    bin: string,
    args: string[],
    options: { root: string; logName: string; env?: Record<string, string> },
  ): Promise<SupervisedProcess> {
    const child = new Deno.Command(bin, {
      args,
      env: options.env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const watchdog = new Deno.Command("bash", {
      args: [
        "-c",
        'while kill -0 "$1" 2>/dev/null && kill -0 "$2" 2>/dev/null; do sleep 1; done; ' +
        'if ! kill -0 "$1" 2>/dev/null; then kill -9 "$2" 2>/dev/null; sleep 0.5; rm -rf "$3"; fi',
        `${options.logName}-watchdog`,
        String(Deno.pid),
        String(child.pid),
        options.root,
      ],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    const logFile = `${options.root}/${options.logName}.log`;
    const log = await Deno.open(logFile, { create: true, append: true });
    // Both streams go to one log file; each pipe gets its own writer so neither blocks.
    const sink = (s: ReadableStream<Uint8Array>) =>
      s.pipeTo(
        new WritableStream({
          write: async (chunk) => {
            await log.write(chunk);
          },
        }),
      ).catch(() => {});
    const logs = Promise.all([sink(child.stdout), sink(child.stderr)]).then(() => log.close());
    return new SupervisedProcess(child, watchdog, logs, logFile);
  }

  /** The process id (for signals such as SIGHUP or SIGSTOP). */
  get pid(): number {
    return this.#child.pid;
  }

  /** Whether the process has ended. */
  get exited(): boolean {
    return this.#exited;
  }

  /**
   * Polls `ready` until true (throws with the log's tail if the process exits or `timeoutMs`
   * passes; the process is then killed).
   */
  async waitReady(what: string, ready: () => Promise<boolean>, timeoutMs: number): Promise<void> {
    try {
      await waitFor(
        what,
        async () => {
          await delay(0);
          if (this.#exited) throw new Error(`the process exited; see ${this.logFile}`);
          return await ready();
        },
        timeoutMs,
        100,
      );
    } catch (e) {
      await this.halt("SIGKILL");
      throw new Error(`${(e as Error).message}\n${this.logTail()}`);
    }
  }

  /** The end of the log. */
  logTail(chars = 2000): string {
    try {
      return Deno.readTextFileSync(this.logFile).slice(-chars);
    } catch {
      return "(no log)";
    }
  }

  /** Sends `signal` (SIGKILL after 5 s), waits for the exit, ends the watchdog. */
  halt(signal: "SIGTERM" | "SIGKILL" = "SIGTERM"): Promise<void> {
    this.#halted ??= this.#halt(signal);
    return this.#halted;
  }

  async #halt(signal: "SIGTERM" | "SIGKILL"): Promise<void> {
    const kill = (s: "SIGTERM" | "SIGKILL") => {
      try {
        this.#child.kill(s);
      } catch {
        // already gone
      }
    };
    kill(signal);
    const timer = setTimeout(() => kill("SIGKILL"), 5000);
    await this.#child.status;
    clearTimeout(timer);
    await this.#logs;
    try {
      this.#watchdog.kill("SIGKILL");
    } catch {
      // already ended
    }
    await this.#watchdog.status;
  }
}

/** A running test registry server with a data dir (etcd, Redis), as its tests see it. */
export interface DataServer {
  /** `127.0.0.1:PORT`, the client endpoint. */
  readonly endpoint: string;
  /** The client port. */
  readonly port: number;
  /** The data dir (kept across `halt`/`resume`/`restart`, removed by `stop`). */
  readonly dataDir: string;
  /** Whether the process is running now. */
  readonly running: boolean;
  /** Stops the process (SIGTERM, or SIGKILL) and keeps the data dir. */
  halt(signal?: "SIGTERM" | "SIGKILL"): Promise<void>;
  /** Starts it again on the same ports (data kept unless `wipe`); waits until it serves. */
  resume(options?: { wipe?: boolean }): Promise<void>;
  /** `halt()`, optionally stays down `downMs`, then `resume()`. */
  restart(options?: { wipe?: boolean; downMs?: number }): Promise<void>;
  /** Stops for good and removes the temp dir. Safe to call twice. */
  stop(): Promise<void>;
}

/**
 * The life of a test registry server (etcd, Redis, Consul): at most one {@link SupervisedProcess}
 * at a time, started by `resume` (the subclass's `launch`, then its `ready`), stopped by `halt`,
 * both by `restart`; `stop` ends it for good and removes `root`.
 */
export abstract class SupervisedServer {
  #proc: SupervisedProcess | undefined;
  #stopped = false;

  /**
   * `root`: the temp dir (removed by `stop`); `what`: the server in messages; `stopSignal`: how
   * `stop` halts it.
   */
  constructor(
    readonly root: string,
    readonly what: string,
    readonly stopSignal: "SIGTERM" | "SIGKILL" = "SIGTERM",
  ) {}

  /** Starts the process (its data dir emptied first when `wipe`); `ready` waits until it serves. */
  protected abstract launch(
    wipe: boolean,
  ): Promise<{ proc: SupervisedProcess; ready(): Promise<void> }>;

  /** Whether the process is running now. */
  get running(): boolean {
    return this.#proc !== undefined;
  }

  /** Starts it again on the same ports (data kept unless `wipe`); waits until it serves. */
  async resume(options: { wipe?: boolean } = {}): Promise<void> {
    if (this.#stopped) throw new Error(`${this.what} was stopped`);
    if (this.#proc) return;
    const { proc, ready } = await this.launch(options.wipe ?? false);
    this.#proc = proc;
    try {
      await ready();
    } catch (e) {
      this.#proc = undefined;
      throw e;
    }
  }

  /** Stops the process (SIGTERM, or SIGKILL); the data dir is kept. */
  async halt(signal: "SIGTERM" | "SIGKILL" = "SIGTERM"): Promise<void> {
    const proc = this.#proc;
    this.#proc = undefined;
    await proc?.halt(signal);
  }

  /** `halt()`, optionally stays down `downMs`, then `resume()`. */
  async restart(options: { wipe?: boolean; downMs?: number } = {}): Promise<void> {
    await this.halt();
    if (options.downMs) await delay(options.downMs);
    await this.resume({ wipe: options.wipe });
  }

  /** Stops for good and removes the temp dir. Safe to call twice. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    await this.halt(this.stopSignal);
    this.#stopped = true;
    await Deno.remove(this.root, { recursive: true }).catch(() => {});
  }
}
