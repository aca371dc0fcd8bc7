/**
 * Internal to XClient: the time bounds of a call (its deadline, what is left of it, its abort).
 *
 * @module
 */
import { CallAbortedError, CallTimeoutError } from "./errors.ts";
import type { CallOptions } from "./options.ts";

/** The signal and deadline (ms since the epoch) of a call's options. */
export function callBounds(options: CallOptions): { signal?: AbortSignal; deadline?: number } {
  const deadline = options.timeout !== undefined && options.timeout > 0
    ? Date.now() + options.timeout
    : undefined;
  return { signal: options.signal, deadline };
}

/**
 * What is left of a call's time, ms.
 *
 * @throws {CallTimeoutError} (of `timeout` ms) when nothing is left.
 */
export function remaining(deadline: number, timeout: number): number {
  const left = deadline - Date.now();
  if (left <= 0) throw new CallTimeoutError(timeout);
  return left;
}

/** Rejects with {@linkcode CallAbortedError} when `signal` aborts. */
export function abortPromise(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(new CallAbortedError(signal.reason));
    signal.addEventListener("abort", () => reject(new CallAbortedError(signal.reason)), {
      once: true,
    });
  });
}
