/**
 * The list-and-retry loop every polling or re-listing discovery runs: list the registry, apply
 * the result, and on failure keep the last list, report an outage and retry with capped
 * backoff; report the recovery on the next success. Requests to list again while a list runs
 * are coalesced into one more round.
 *
 * @module
 */
import { backoffDelay } from "./backoff.ts";

/**
 * Retry delays of a discovery after a failed listing, in milliseconds.
 *
 * @example
 * ```ts
 * import type { RetryOptions } from "@rpcx/core/extend";
 * const o: RetryOptions = { retryInitialMs: 200, retryMaxMs: 2000 };
 * console.log(o.retryMaxMs);
 * ```
 */
export interface RetryOptions {
  /** First retry delay after a failure (doubling); default 1000 (as Go rpcx). */
  retryInitialMs?: number;
  /** Longest retry delay; default 30 000 (as Go rpcx). */
  retryMaxMs?: number;
}

/**
 * How a {@linkcode ResyncLoop} lists, applies and reports. Durations in milliseconds.
 *
 * @example
 * ```ts
 * import { ResyncLoop, type ResyncOptions } from "@rpcx/core/extend";
 * let calls = 0;
 * const listed = Promise.withResolvers<void>();
 * const o: ResyncOptions<string[]> = {
 *   // The first listing fails (the registry is down); the retry 10 ms later succeeds.
 *   list: () =>
 *     ++calls === 1
 *       ? Promise.reject(new Error("registry down"))
 *       : Promise.resolve(["tcp@127.0.0.1:8972"]),
 *   apply: (keys) => {
 *     console.log(keys); // [ "tcp@127.0.0.1:8972" ]
 *     listed.resolve();
 *   },
 *   outage: (e, attempt, ms) => console.log(`attempt ${attempt}: ${e}; retry in ${ms} ms`),
 *   retryInitialMs: 10,
 * };
 * const loop = new ResyncLoop(o);
 * loop.kick();
 * await listed.promise;
 * await loop.close();
 * ```
 */
export interface ResyncOptions<T> extends RetryOptions {
  /** One listing of the registry; throws when the registry cannot be read. */
  list(): Promise<T>;
  /** Takes a successful listing (e.g. publishes it). Not called after `close`. */
  apply(result: T): void;
  /** Called after each failed listing, before the retry is scheduled. */
  outage?(error: unknown, attempt: number, retryInMs: number): void;
  /** Called after each successful listing (the listener decides whether it ends an outage). */
  recovered?(): void;
  /**
   * Delay in ms before the next round after a success; undefined waits for
   * {@linkcode ResyncLoop.kick}. Called after `apply`; `startedAt` is when the round began
   * (`Date.now()`), for periods measured from round start to round start.
   */
  again?(startedAt: number): number | undefined;
}

/**
 * Runs the rounds of one discovery: one round at a time, a kick during a round makes exactly
 * one more round, a failed round reports an outage and is retried after `backoffDelay`
 * (1 s doubling to 30 s by default, as Go rpcx), and a successful round resets the backoff.
 * It never throws: failures only reach `outage`.
 *
 * @example
 * ```ts
 * import { ResyncLoop } from "@rpcx/core/extend";
 * let n = 0;
 * const loop = new ResyncLoop<number>({
 *   list: () => Promise.resolve(++n),
 *   apply: (v) => console.log("listed", v),
 * });
 * loop.kick();
 * await loop.idle();
 * await loop.close();
 * ```
 */
export class ResyncLoop<T> {
  readonly #o: ResyncOptions<T>;
  #running: Promise<void> | undefined;
  #dirty = false;
  #closed = false;
  #attempt = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerIsRetry = false;

  /** Stores the options; nothing runs before the first {@linkcode ResyncLoop.kick}. */
  constructor(options: ResyncOptions<T>) {
    this.#o = options;
  }

  /** Whether the last round failed and a retry is pending (the registry is in outage). */
  get retrying(): boolean {
    return this.#timerIsRetry && this.#timer !== undefined;
  }

  /** Consecutive failed rounds (0 after a success). */
  get failures(): number {
    return this.#attempt;
  }

  /** Lists now, or once more after the round that is running; cancels a pending retry. */
  kick(): void {
    if (this.#closed) return;
    this.#clearTimer();
    if (this.#running) {
      this.#dirty = true;
      return;
    }
    this.#running = this.#run();
  }

  /** Like {@linkcode ResyncLoop.kick}, but does nothing while a retry is pending. */
  poke(): void {
    if (!this.retrying) this.kick();
  }

  /**
   * Counts a failure seen outside a round (e.g. a socket error event) and reports it as an
   * outage, without changing what is scheduled.
   */
  fail(error: unknown): void {
    if (this.#closed) return;
    this.#attempt++;
    this.#o.outage?.(error, this.#attempt, this.#delay());
  }

  /** Resolves when no round is running. */
  async idle(): Promise<void> {
    while (this.#running) await this.#running;
  }

  /**
   * Stops: no new round, no retry. Resolves when the running round has ended (abort its I/O
   * first if it may block, e.g. by closing the registry client).
   */
  close(): Promise<void> {
    this.#closed = true;
    this.#clearTimer();
    return this.idle();
  }

  #delay(): number {
    return backoffDelay(
      this.#attempt,
      this.#o.retryInitialMs ?? 1000,
      this.#o.retryMaxMs ?? 30_000,
    );
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerIsRetry = false;
  }

  #schedule(ms: number, retry: boolean): void {
    this.#clearTimer();
    this.#timerIsRetry = retry;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#timerIsRetry = false;
      this.kick();
    }, ms);
  }

  async #run(): Promise<void> {
    await null; // the caller of kick() goes on first (and `#running` is set before the end)
    try {
      do {
        this.#dirty = false;
        const startedAt = Date.now();
        let result: T;
        try {
          result = await this.#o.list();
        } catch (e) {
          if (this.#closed) return;
          this.#attempt++;
          const wait = this.#delay();
          this.#o.outage?.(e, this.#attempt, wait);
          if (this.#dirty) continue; // something happened meanwhile (e.g. reconnected): again now
          this.#schedule(wait, true);
          return;
        }
        if (this.#closed) return;
        this.#attempt = 0;
        this.#o.apply(result);
        this.#o.recovered?.();
        if (this.#closed) return;
        if (!this.#dirty) {
          const next = this.#o.again?.(startedAt);
          if (next !== undefined) {
            if (next <= 0) this.#dirty = true;
            else this.#schedule(next, false);
          }
        }
      } while (this.#dirty && !this.#closed);
    } finally {
      // cleared in the same turn as the last check of `#dirty`: no kick falls in between
      this.#running = undefined;
    }
  }
}
