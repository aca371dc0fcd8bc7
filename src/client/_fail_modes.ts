/**
 * Internal to XClient: its fail modes (Go's Failover, Failfast, Failtry, Failbackup) — a call's
 * first try, the one retry loop, and Failbackup's backup request.
 *
 * @module
 */
import { ClientClosedError, isRetryable } from "./errors.ts";
import { type CallOptions, FailMode, type XClientOptions } from "./options.ts";
import { type Budget, pause, timedOut, tryOptions } from "./_bounds.ts";

/** What the fail modes use of their XClient. */
export interface Tries {
  /** The XClient's fail mode. */
  readonly failMode: FailMode;
  /** Its options (`retries`, `retryInterval`, `backupLatency`). */
  readonly options: XClientOptions;
  /** Whether the XClient is closed: nothing is tried any more. */
  closed(): boolean;
  /** Aborted when the XClient closes (ends a pause between tries). */
  readonly closing: AbortSignal;
  /**
   * The server for the next try, not one of `tried` when another can be had.
   *
   * @throws {NoServerAvailableError} when none is available (`NoServerSelectedError` when the
   * selector chooses none).
   */
  pick(method: string, args: unknown, tried?: Set<string>): string;
  /** One try on `key`, the server's health updated from its outcome. Never throws. */
  callOne<T>(key: string, method: string, args: unknown, options: CallOptions): Promise<T>;
}

/**
 * The fail modes: the first try goes straight out (no waiting beyond the call itself);
 * only when it fails with a transport error do Failover and Failtry enter the retry loop.
 * `waited`: the call waited for the discovery before.
 */
export function startCall<T>(
  x: Tries,
  method: string,
  args: unknown,
  options: CallOptions,
  budget: Budget | undefined,
  waited: boolean,
): Promise<T> {
  const mode = x.failMode;
  // A call bound by maxWait alone that did not wait goes out with the caller's options as
  // they are: each connection's client bounds a call with no timeout at maxWait.
  const plain = budget === undefined || (!budget.sent && !waited);
  if (mode === FailMode.Failfast && plain) {
    // One try: nothing to retry or rewrite.
    try {
      return x.callOne<T>(x.pick(method, args), method, args, options);
    } catch (e) {
      return Promise.reject(e);
    }
  }
  const tries = mode === FailMode.Failover || mode === FailMode.Failtry
    ? Math.max(x.options.retries ?? 3, 0) + 1
    : 1;
  let key: string | undefined;
  let first: Promise<T>;
  try {
    key = x.pick(method, args);
    first = tryOn<T>(
      x,
      key,
      method,
      args,
      options,
      plain ? options : tryOptions(options, budget!),
      budget,
    );
  } catch (e) {
    first = Promise.reject(e);
  }
  const p = tries > 1
    ? first.catch((e) => retry<T>(x, e, key, tries, method, args, options, budget))
    : first;
  if (plain) return p;
  return p.catch((e) => {
    // A try's timeout is what was left of the call's: report the call's own timeout.
    throw timedOut(e, budget);
  });
}

/**
 * One try of the fail mode on `key` with `tryOpts` (Failbackup: with its backup, whose
 * options are made from `options` and `budget` when it starts).
 */
function tryOn<T>(
  x: Tries,
  key: string,
  method: string,
  args: unknown,
  options: CallOptions,
  tryOpts: CallOptions,
  budget: Budget | undefined,
): Promise<T> {
  return x.failMode === FailMode.Failbackup
    ? backup<T>(x, key, method, args, options, tryOpts, budget)
    : x.callOne<T>(key, method, args, tryOpts);
}

/**
 * The one retry loop of the fail modes, after a first try on `key` failed with `error`: on a
 * transport error try again — Failover on another server, Failtry on the same one — up to
 * `tries` tries in all, within the call's budget, `retryInterval` ms apart. A service error is never retried, and
 * nothing is tried once the client is closed.
 */
async function retry<T>(
  x: Tries,
  error: unknown,
  key: string | undefined,
  tries: number,
  method: string,
  args: unknown,
  options: CallOptions,
  budget: Budget | undefined,
): Promise<T> {
  const signal = options.signal;
  if (key === undefined || !isRetryable(error) || signal?.aborted) throw timedOut(error, budget);
  const tried = new Set<string>([key]);
  let last = error;
  const interval = x.options.retryInterval ?? 0;
  for (let i = 1; i < tries; i++) {
    if (x.closed()) throw new ClientClosedError();
    if (interval > 0) {
      // Go's RetryInterval. No time for the pause and a try after it: the last error stands.
      if (budget !== undefined && budget.deadline - Date.now() <= interval) {
        throw timedOut(last, budget);
      }
      await pause(interval, signal, x.closing);
    }
    if (x.failMode !== FailMode.Failtry) {
      try {
        key = x.pick(method, args, tried);
      } catch {
        throw timedOut(last, budget);
      }
      tried.add(key);
    }
    try {
      const opts = budget === undefined ? options : tryOptions(options, budget);
      return await tryOn<T>(x, key!, method, args, options, opts, budget);
    } catch (e) {
      last = e;
      if (!isRetryable(e) || signal?.aborted) throw timedOut(e, budget);
    }
  }
  throw timedOut(last, budget);
}

/**
 * Failbackup (Go's): a try on `first`; when it has not answered within `backupLatency` (or
 * failed with a transport error before), a second try — on another server when there is one,
 * else on the same one, as Go asks the select mode again — and the first reply wins; the
 * other try is abandoned.
 */
function backup<T>(
  x: Tries,
  first: string,
  method: string,
  args: unknown,
  options: CallOptions,
  firstOpts: CallOptions,
  budget: Budget | undefined,
): Promise<T> {
  const ac = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, ac.signal]) : ac.signal;
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    let started = 0;
    let failed = 0;
    const run = (key: string, opts: CallOptions) => {
      started++;
      x.callOne<T>(key, method, args, { ...opts, signal }).then((reply) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        ac.abort();
        resolve(reply);
      }, (e) => {
        failed++;
        if (settled) return;
        // A failed first try starts the backup at once instead of waiting.
        if (started === 1 && isRetryable(e) && startBackup()) return;
        if (failed >= started) {
          settled = true;
          clearTimeout(timer);
          ac.abort();
          reject(timedOut(e, budget));
        }
      });
    };
    const startBackup = (): boolean => {
      if (settled || started > 1 || x.closed()) return false;
      clearTimeout(timer);
      let second: string;
      let opts: CallOptions;
      try {
        second = x.pick(method, args, new Set([first]));
        opts = budget === undefined ? options : tryOptions(options, budget);
      } catch {
        return false;
      }
      run(second, opts);
      return true;
    };
    const timer = setTimeout(startBackup, x.options.backupLatency ?? 10);
    run(first, firstOpts);
  });
}
