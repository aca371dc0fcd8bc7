/**
 * Internal to XClient: the time bounds of an operation (its budget, what is left of it, the wait
 * for the discovery's first list).
 *
 * @module
 */
import { deadline } from "../_internal/async.ts";
import { RegistryError } from "../registry/errors.ts";
import { type Bounded, waitBound } from "./_calls.ts";
import { CallAbortedError, CallTimeoutError, ClientClosedError } from "./errors.ts";
import type { CallOptions } from "./options.ts";

/**
 * Go's bound of `Broadcast` and `Fork` (`context.WithTimeout(ctx, time.Minute)`), here the
 * default of `XClientOptions.maxWait`, ms.
 */
export const DEFAULT_MAX_WAIT = 60_000;

/** The longest delay a timer takes (a longer one fires at once): 2^31 - 1 ms, ~24.8 days. */
const MAX_TIMER = 2 ** 31 - 1;

/**
 * `XClientOptions.maxWait` checked: undefined (no bound) for `Infinity`, else ms.
 *
 * @throws {RangeError} unless a number > 0.
 */
export function maxWaitOf(value: number | undefined): number | undefined {
  if (value === undefined) return DEFAULT_MAX_WAIT;
  if (typeof value !== "number" || !(value > 0)) {
    throw new RangeError(`maxWait must be a number of ms > 0 (or Infinity), got ${value}`);
  }
  return value === Infinity ? undefined : Math.min(value, MAX_TIMER);
}

/** The time an XClient operation may take. */
export interface Budget {
  /** Its length, ms: reported by {@linkcode CallTimeoutError}. */
  readonly timeout: number;
  /** When it ends, ms since the epoch. */
  readonly deadline: number;
  /**
   * Whether `timeout` is the caller's (sent to the server as `__ServerTimeout` by each try),
   * else a bound of the client only (`maxWait`).
   */
  readonly sent: boolean;
}

/**
 * The budget of an operation started at `start`: the caller's `timeout`, else `bound`
 * (undefined when neither is set). With `cap` (broadcast, fork: Go caps them at its minute
 * whatever the caller's deadline), the shorter of the two, never sent.
 */
export function budgetOf(
  timeout: number | undefined,
  bound: number | undefined,
  cap = false,
  start = Date.now(),
): Budget | undefined {
  const given = timeout !== undefined && timeout > 0 ? timeout : undefined;
  if (given !== undefined && (bound === undefined || (!cap || given <= bound))) {
    return { timeout: given, deadline: start + given, sent: !cap };
  }
  if (bound === undefined) return undefined;
  return { timeout: bound, deadline: start + bound, sent: false };
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

/**
 * The options of one try: what is left of `budget` as its `timeout` when the budget is the
 * caller's, else as its bound on the client only.
 *
 * @throws {CallTimeoutError} when nothing is left.
 */
export function tryOptions(options: CallOptions, budget: Budget): CallOptions & Bounded {
  const left = remaining(budget.deadline, budget.timeout);
  return budget.sent ? { ...options, timeout: left } : { ...options, [waitBound]: left };
}

/** A try's timeout (what was left of the operation's) reported as the operation's own. */
export function timedOut(error: unknown, budget: Budget | undefined): unknown {
  return budget !== undefined && error instanceof CallTimeoutError
    ? new CallTimeoutError(budget.timeout)
    : error;
}

/**
 * Waits for `ready` at most `ms` (then resolves: the caller goes on with what it has); rejects
 * with what `ready` rejects with, {@linkcode CallAbortedError} when `signal` aborts, or
 * {@linkcode ClientClosedError} when `closing` does. Leaves no timer or listener behind.
 */
export function waitReady(
  ready: Promise<unknown>,
  ms: number,
  signal: AbortSignal | undefined,
  closing: AbortSignal,
): Promise<void> {
  if (closing.aborted) return Promise.reject(new ClientClosedError());
  if (signal?.aborted) return Promise.reject(new CallAbortedError(signal.reason));
  const quiet = Symbol();
  return deadline(
    ready.then(
      () => {},
      (e) =>
        Promise.reject(
          e ?? new RegistryError("discovery failed", { registry: "discovery", operation: "ready" }),
        ),
    ),
    Math.min(ms, MAX_TIMER),
    {
      signal: signal ? AbortSignal.any([signal, closing]) : closing,
      onTimeout: () => quiet,
      onAbort: () =>
        closing.aborted ? new ClientClosedError() : new CallAbortedError(signal!.reason),
    },
  ).catch((e) => {
    if (e !== quiet) throw e;
  });
}

/**
 * Resolves after `ms` (a pause between two tries); rejects at once with
 * {@linkcode CallAbortedError} when `signal` aborts, {@linkcode ClientClosedError} when `closing`
 * does. Leaves no timer or listener behind.
 */
export function pause(
  ms: number,
  signal: AbortSignal | undefined,
  closing: AbortSignal,
): Promise<void> {
  return waitReady(new Promise<never>(() => {}), ms, signal, closing);
}
