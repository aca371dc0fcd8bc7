/**
 * Internal to XClient: broadcast, fork and inform, one call to each discovered server at once.
 *
 * @module
 */
import type { NoServerAvailableError } from "./errors.ts";
import type { CallOptions, XClientOptions } from "./options.ts";
import { type Budget, budgetOf, timedOut, tryOptions } from "./_bounds.ts";

/** What broadcast, fork and inform use of their XClient. */
export interface EveryServer {
  /** Its options (`timeout`). */
  readonly options: XClientOptions;
  /** The bound of an operation without a timeout, ms (undefined: none). */
  readonly maxWait: number | undefined;
  /** Waits for the discovery's first list (see XClient's `#ready`). */
  ready(signal: AbortSignal | undefined, budget: Budget | undefined): Promise<void>;
  /** The discovered servers' keys (`XClient.discovered`). */
  keys(): string[];
  /** "No server", saying why when the discovery cannot reach its registry. */
  noServer(): NoServerAvailableError;
  /** One try on `key`, the server's health updated from its outcome. Never throws. */
  callOne<T>(key: string, method: string, args: unknown, options: CallOptions): Promise<T>;
}

/**
 * Broadcast and fork: one call to each discovered server at once, all within the shorter of
 * the caller's timeout and `maxWait` (never sent to the server: Go adds its minute after
 * setting `__ServerTimeout`); `settle` says when the operation is over, and the calls still
 * under way then are abandoned.
 */
export async function everyServer<T, R>(
  x: EveryServer,
  method: string,
  args: unknown,
  options: CallOptions,
  settle: (calls: Promise<T>[], keys: string[], budget: Budget | undefined) => Promise<R>,
): Promise<R> {
  const budget = budgetOf(options.timeout ?? x.options.timeout, x.maxWait, true);
  await x.ready(options.signal, budget);
  const keys = x.keys();
  if (keys.length === 0) throw x.noServer();
  const ac = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, ac.signal]) : ac.signal;
  try {
    let opts: CallOptions = { ...options, signal };
    if (budget !== undefined) opts = tryOptions(opts, budget);
    return await settle(keys.map((k) => x.callOne<T>(k, method, args, opts)), keys, budget);
  } catch (e) {
    throw timedOut(e, budget);
  } finally {
    ac.abort();
  }
}

/**
 * What one server answered to {@linkcode XClient.inform} (Go's `client.Receipt`): `reply` when
 * it succeeded, else `error`.
 *
 * @example
 * ```ts
 * import type { Receipt } from "@rpcx/core/extend";
 * const r: Receipt<{ C: number }> = { address: "127.0.0.1:8972", reply: { C: 6 } };
 * console.log(r.error === undefined ? r.reply : r.error);
 * ```
 */
export interface Receipt<T = unknown> {
  /** The server, `host:port` (its key without the network, as Go's `Address`). */
  readonly address: string;
  /** Its reply, when the call succeeded (Go's `Reply`). */
  readonly reply?: T;
  /**
   * Why the call failed (Go's `Error`): a {@linkcode ServiceError}, {@linkcode ConnectionError},
   * {@linkcode CallTimeoutError} (the operation's timeout, or `maxWait`)...; undefined on success.
   */
  readonly error?: unknown;
}

/** Inform's end: every server's receipt, in the order of `keys`, once all have settled. */
export function receipts<T>(
  calls: Promise<T>[],
  keys: string[],
  budget: Budget | undefined,
): Promise<Receipt<T>[]> {
  return Promise.allSettled(calls).then((done) =>
    done.map((d, i) => {
      const key = keys[i];
      const at = key.indexOf("@");
      const address = at < 0 ? key : key.slice(at + 1);
      return d.status === "fulfilled"
        ? { address, reply: d.value }
        : { address, error: timedOut(d.reason, budget) };
    })
  );
}

/** Broadcast's end: all replies when all succeed, else the first error. */
export function allReplies<T>(calls: Promise<T>[]): Promise<T[]> {
  return Promise.all(calls);
}

/** Fork's end: the first success, else the last error. */
export function firstReply<T>(calls: Promise<T>[]): Promise<T> {
  return Promise.any(calls).catch((e) => {
    const errors = (e as AggregateError).errors ?? [e];
    throw errors[errors.length - 1];
  });
}
