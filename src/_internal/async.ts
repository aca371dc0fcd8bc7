/**
 * Timing helpers, written once: a promise bounded by a time and a signal ({@linkcode deadline},
 * {@linkcode within}, {@linkcode abortable}) and sleeps that a signal cuts short
 * ({@linkcode delay} rejects then, {@linkcode sleep} and {@linkcode Sleeper} resolve early). Each
 * clears its timer and removes its abort listener as soon as it settles, so nothing it set up
 * outlives it (a pending timer would hold the process open; a listener would keep a closure per
 * call on a long-lived signal). Plain `setTimeout` and `AbortSignal`: the same on Deno, Node and
 * Bun.
 *
 * Ours rather than npm's `p-timeout` and `delay`: together they would cover the same in two
 * dependencies of the core for about sixty lines, and `tests/core_deps_test.ts` keeps the core's
 * npm closure small.
 *
 * @module
 */

/** How {@linkcode deadline} ends a promise that did not settle in time. */
export interface DeadlineOptions {
  /** Ends the wait when aborted (default: only the time does). */
  signal?: AbortSignal;
  /**
   * What it rejects with when the time is up (default: a `DOMException` named `TimeoutError`,
   * what `AbortSignal.timeout` gives). Runs once, at that moment: a place to cancel the work too.
   */
  onTimeout?: () => unknown;
  /**
   * What it rejects with when `signal` aborts (default: `signal.reason`). Runs once, at that
   * moment.
   */
  onAbort?: () => unknown;
}

/**
 * `p`, or a rejection once `ms` milliseconds have passed (`Infinity`: never) or `signal` aborted,
 * whichever comes first. `p` is not cancelled (that is what `onTimeout`/`onAbort` may do); its
 * later rejection is not reported as unhandled.
 *
 * @example
 * ```ts
 * import { deadline } from "./async.ts";
 * const slow = new Promise((r) => setTimeout(r, 1000));
 * await deadline(slow, 10, { onTimeout: () => new Error("took over 10 ms") }).catch((e) =>
 *   console.log(e.message) // took over 10 ms
 * );
 * ```
 */
export function deadline<T>(
  p: PromiseLike<T>,
  ms: number,
  options: DeadlineOptions = {},
): Promise<T> {
  const { signal, onTimeout, onAbort } = options;
  if (signal?.aborted) {
    Promise.resolve(p).catch(() => {});
    return Promise.reject(onAbort ? onAbort() : signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", aborted);
    };
    const aborted = () => {
      done();
      reject(onAbort ? onAbort() : signal!.reason);
    };
    if (ms !== Infinity) {
      timer = setTimeout(() => {
        done();
        reject(onTimeout ? onTimeout() : new DOMException("timed out", "TimeoutError"));
      }, Math.max(0, ms));
    }
    signal?.addEventListener("abort", aborted, { once: true });
    Promise.resolve(p).then(
      (v) => {
        done();
        resolve(v);
      },
      (e) => {
        done();
        reject(e);
      },
    );
  });
}

/**
 * `p`, or `signal.reason` as soon as `signal` aborts.
 *
 * @example
 * ```ts
 * import { abortable } from "./async.ts";
 * const ac = new AbortController();
 * const waiting = abortable(new Promise(() => {}), ac.signal);
 * ac.abort(new Error("closed"));
 * await waiting.catch((e) => console.log(e.message)); // closed
 * ```
 */
export function abortable<T>(p: PromiseLike<T>, signal: AbortSignal | undefined): Promise<T> {
  return signal ? deadline(p, Infinity, { signal }) : Promise.resolve(p);
}

/**
 * `p`'s value, or `undefined` once `ms` milliseconds have passed (`Infinity`: never) or `signal`
 * aborted, whichever comes first: for a wait that may give up quietly (a best-effort cancel
 * before a close, a drain bounded in time). A rejection of `p` before then still rejects.
 *
 * @example
 * ```ts
 * import { within } from "./async.ts";
 * console.log(await within(new Promise(() => {}), 10)); // undefined
 * console.log(await within(new Promise(() => {}), 60_000, AbortSignal.abort())); // undefined
 * ```
 */
export function within<T>(
  p: PromiseLike<T>,
  ms: number,
  signal?: AbortSignal,
): Promise<T | undefined> {
  const quiet = Symbol();
  const end = () => quiet;
  return deadline<T | undefined>(p, ms, { signal, onTimeout: end, onAbort: end }).catch((e) => {
    if (e === quiet) return undefined;
    throw e;
  });
}

/**
 * Resolves after `ms` milliseconds; rejects with `signal.reason` as soon as `signal` aborts.
 *
 * @example
 * ```ts
 * import { delay } from "./async.ts";
 * await delay(5);
 * await delay(1000, AbortSignal.abort(new Error("stop"))).catch((e) => console.log(e.message)); // stop
 * ```
 */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return deadline(new Promise<void>(() => {}), ms, { signal, onTimeout: () => DONE })
    .catch((e) => {
      if (e !== DONE) throw e;
    });
}

const DONE = Symbol("done");

/**
 * Resolves after `ms` milliseconds, or at once when `signal` aborts: never rejects. For a loop
 * that waits between rounds and must stop waiting when closed.
 *
 * @example
 * ```ts
 * import { sleep } from "./async.ts";
 * const ac = new AbortController();
 * const waiting = sleep(60_000, ac.signal);
 * ac.abort();
 * await waiting; // at once
 * ```
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return delay(ms, signal).catch(() => {});
}

/**
 * A sleep that {@linkcode Sleeper.cancel} ends early: one at a time per sleeper (a new `sleep`
 * ends the one before), for an object whose `close()` must end the wait of its background loop.
 *
 * @example
 * ```ts
 * import { Sleeper } from "./async.ts";
 * const sleeper = new Sleeper();
 * const waiting = sleeper.sleep(60_000);
 * sleeper.cancel();
 * await waiting; // at once
 * ```
 */
export class Sleeper {
  #stop: AbortController | undefined;

  /** Resolves after `ms` milliseconds, or when cancelled (or when the next `sleep` starts). */
  sleep(ms: number): Promise<void> {
    this.cancel();
    const stop = new AbortController();
    this.#stop = stop;
    return sleep(ms, stop.signal).finally(() => {
      if (this.#stop === stop) this.#stop = undefined;
    });
  }

  /** Ends the sleep in progress, if any. */
  cancel(): void {
    this.#stop?.abort();
    this.#stop = undefined;
  }
}
