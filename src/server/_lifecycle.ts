/**
 * How a server ends: a graceful shutdown (stop accepting, withdraw from the registries, drain
 * the connections and run the `registerOnShutdown` functions, bounded in time) or a close at once, each run once whatever the callers do;
 * and the shutdown on SIGINT/SIGTERM.
 *
 * @module
 */
import { within } from "../_internal/async.ts";
import { runtime } from "../runtime/mod.ts";
import { ServerClosedError, type ShutdownOptions } from "./options.ts";

/**
 * Runs `fns` together on `server`; resolves once all did. What they throw or reject with goes to
 * `report` as `what`.
 */
export async function runAll<S>(
  fns: readonly ((server: S) => void | Promise<void>)[],
  server: S,
  what: string,
  report: (where: string, error: unknown) => void,
): Promise<void> {
  await Promise.all(fns.map(async (fn) => {
    try {
      await fn(server);
    } catch (e) {
      report(what, e);
    }
  }));
}

/** How long past the shutdown's bound a signal's shutdown may take before the process exits, ms. */
export const EXIT_GRACE = 1000;

/** The parts of a server its end stops. */
export interface Stoppable {
  /** Closes the listeners; resolves once their addresses are free. */
  stopListening(): Promise<void>;
  /** Withdraws every service from the registries and stops them. */
  stopRegistries(): Promise<void>;
  /** The rpcx connections. */
  readonly connections: { drain(): Promise<void>; closeAll(): void };
  /** The HTTP side. */
  readonly http: { drain(): void; drained(): Promise<void>; close(): void };
  /**
   * Runs the `registerOnShutdown` functions (Go's `RegisterOnShutdown`); resolves once each has
   * (errors are reported).
   */
  onShutdown(): Promise<void>;
}

/** The states of one server's end. */
export class Lifecycle {
  /** Aborted when the server closes hard: every call's signal follows it. */
  readonly stop: AbortController = new AbortController();
  readonly #parts: () => Stoppable;
  #shuttingDown = false;
  #closed = false;
  #shutdown: Promise<void> | undefined;
  #closing: Promise<void> | undefined;

  /** `parts` is read when the end begins (the server builds them after this). */
  constructor(parts: () => Stoppable) {
    this.#parts = parts;
  }

  /** Whether new connections and calls are taken (not once shutdown or close began). */
  get accepting(): boolean {
    return !this.#shuttingDown && !this.#closed;
  }

  /** Whether the server is closed (its end is over). */
  get closed(): boolean {
    return this.#closed;
  }

  /** The graceful shutdown (see `Server.shutdown`); the same promise on every call. */
  shutdown(options: ShutdownOptions): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#shutdown ??= this.#drain(options);
    return this.#shutdown;
  }

  async #drain(options: ShutdownOptions): Promise<void> {
    this.#shuttingDown = true;
    const parts = this.#parts();
    void parts.stopListening();
    const registries = parts.stopRegistries();
    parts.http.drain();
    const gone = parts.connections.drain();
    // Within the same bound as the drain: a hook that never ends holds shutdown no longer.
    const hooks = parts.onShutdown();
    await within(
      Promise.all([registries, gone, parts.http.drained(), hooks]),
      options.timeout ?? 10_000,
      options.signal,
    );
    await this.close();
  }

  /** The close at once (see `Server.close`); the same promise on every call. */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closing ??= this.#closeNow();
    return this.#closing;
  }

  async #closeNow(): Promise<void> {
    this.#shuttingDown = true;
    const parts = this.#parts();
    const released = parts.stopListening();
    parts.http.close();
    parts.connections.closeAll();
    this.stop.abort(new ServerClosedError());
    await Promise.all([parts.stopRegistries(), released]);
    this.#closed = true;
  }

  /**
   * Shuts down on SIGINT or SIGTERM, then exits the process (unless `exit` is false); returns
   * a function that removes the handlers.
   */
  onSignals(options: ShutdownOptions & { exit?: boolean }): () => void {
    const process = runtime().process;
    const exit = options.exit !== false;
    const remove = process.onSignals(["SIGINT", "SIGTERM"], () => {
      remove();
      // The process ends within the shutdown's bound (plus EXIT_GRACE ms) whatever is left
      // open: a connection, a registry or a hook that holds the end does not hold the process.
      const bound = exit
        ? setTimeout(() => process.exit(0), (options.timeout ?? 10_000) + EXIT_GRACE)
        : undefined;
      this.shutdown(options).catch(() => {}).finally(() => {
        clearTimeout(bound);
        if (exit) process.exit(0);
      });
    });
    return remove;
  }
}
