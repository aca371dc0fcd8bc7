/**
 * Rate limits on a token bucket: connections accepted per unit of time, and requests served per
 * unit of time (refused with Go's `request reached rate limit`, or made to wait). Go:
 * `serverplugin.NewRateLimitingPlugin`, `serverplugin.NewReqRateLimitingPlugin`.
 *
 * @example
 * ```ts
 * import { Server } from "@rpcx/core";
 * import { connRateLimit, reqRateLimit } from "@rpcx/core/plugins/ratelimit";
 * const server = new Server({
 *   plugins: [connRateLimit(100, 10), reqRateLimit(1, 1000)],
 * });
 * ```
 *
 * @module
 */
import { delay } from "../_internal/async.ts";
import { RpcxError } from "../protocol/errors.ts";
import type { ServerPlugin } from "../server/plugin.ts";

/**
 * A token bucket: holds up to `capacity` tokens, starts full, gains one token every
 * `fillInterval` ms. Mirrors `github.com/juju/ratelimit`'s `Bucket` as Go rpcx uses it.
 *
 * @example
 * ```ts
 * import { TokenBucket } from "@rpcx/core/plugins/ratelimit";
 * const b = new TokenBucket(100, 2); // 10 per second, bursts of 2
 * console.log(b.takeAvailable(), b.takeAvailable(), b.takeAvailable()); // true true false
 * ```
 */
export class TokenBucket {
  /** Ms per token. */
  readonly fillInterval: number;
  /** Most tokens held. */
  readonly capacity: number;
  #tokens: number;
  #at: number;
  /** Waiters ahead, so that `wait` serves callers in order. */
  #queue: Promise<void> = Promise.resolve();

  /** A full bucket; throws `RangeError` unless both numbers are positive. */
  constructor(fillInterval: number, capacity: number) {
    if (!(fillInterval > 0) || !(capacity >= 1)) {
      throw new RangeError("TokenBucket: fillInterval must be > 0 ms and capacity >= 1");
    }
    this.fillInterval = fillInterval;
    this.capacity = capacity;
    this.#tokens = capacity;
    this.#at = performance.now();
  }

  #refill(): void {
    const now = performance.now();
    this.#tokens = Math.min(this.capacity, this.#tokens + (now - this.#at) / this.fillInterval);
    this.#at = now;
  }

  /** Tokens available now (fractional). */
  get available(): number {
    this.#refill();
    return this.#tokens;
  }

  /** Takes one token if one is there; whether it did. Go: `TakeAvailable(1) > 0`. */
  takeAvailable(): boolean {
    this.#refill();
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  /**
   * Takes one token, waiting for it if needed (callers are served in order). Rejects with the
   * signal's reason when `signal` aborts first. Go: `Wait(1)`.
   */
  wait(signal?: AbortSignal): Promise<void> {
    const turn = this.#queue.then(() => this.#waitOne(signal));
    this.#queue = turn.catch(() => {});
    return turn;
  }

  async #waitOne(signal?: AbortSignal): Promise<void> {
    while (!this.takeAvailable()) {
      signal?.throwIfAborted();
      const ms = Math.max(1, Math.ceil((1 - this.#tokens) * this.fillInterval));
      await delay(ms, signal);
    }
  }
}

/**
 * A request was refused by {@linkcode reqRateLimit}; its text is Go's (`request reached rate
 * limit`, `server.ErrReqReachLimit`), which is what the caller receives.
 *
 * @example
 * ```ts
 * import { ReqReachLimitError } from "@rpcx/core/plugins/ratelimit";
 * console.log(new ReqReachLimitError().message); // "request reached rate limit"
 * ```
 */
export class ReqReachLimitError extends RpcxError {
  /** Creates the error. */
  constructor() {
    super("request reached rate limit");
  }
}

/**
 * Limits how fast connections are accepted: one token per connection from a bucket of
 * `capacity` that gains a token every `fillInterval` ms; with no token the connection is closed
 * at once. Go: `serverplugin.NewRateLimitingPlugin(fillInterval, capacity)`.
 *
 * @example
 * ```ts
 * import { Server } from "@rpcx/core";
 * import { connRateLimit } from "@rpcx/core/plugins/ratelimit";
 * new Server().use(connRateLimit(1000, 5)); // at most 5 at once, then 1 per second
 * ```
 */
export function connRateLimit(
  fillInterval: number,
  capacity: number,
): ServerPlugin & { readonly bucket: TokenBucket } {
  const bucket = new TokenBucket(fillInterval, capacity);
  return {
    name: "conn-rate-limit",
    bucket,
    connAccept: () => bucket.takeAvailable(),
  };
}

/**
 * Limits how many requests are served per unit of time: one token per call from a bucket of
 * `capacity` gaining a token every `fillInterval` ms. With no token, the call fails with
 * {@linkcode ReqReachLimitError} (the caller gets the error text `request reached rate limit`
 * and the connection stays open), or, with `block`, waits for a token (up to the call's
 * deadline). Heartbeats are not counted, nor calls to unknown services or methods (they fail
 * before). One bucket for the whole server, as Go's; with `perConnection`, one bucket per
 * connection instead (each with these numbers; the returned `bucket` then goes unused). Go:
 * `serverplugin.NewReqRateLimitingPlugin`.
 *
 * @example
 * ```ts
 * import { Server } from "@rpcx/core";
 * import { reqRateLimit } from "@rpcx/core/plugins/ratelimit";
 * new Server().use(reqRateLimit(1, 100)); // 1000 calls/s, bursts of 100
 * new Server().use(reqRateLimit(10, 20, false, { perConnection: true })); // 100/s per connection
 * ```
 */
export function reqRateLimit(
  fillInterval: number,
  capacity: number,
  block = false,
  options: { perConnection?: boolean } = {},
): ServerPlugin & { readonly bucket: TokenBucket } {
  const bucket = new TokenBucket(fillInterval, capacity);
  const perConn = new WeakMap<object, TokenBucket>();
  const bucketOf = options.perConnection
    ? (conn: object) => {
      let b = perConn.get(conn);
      if (!b) perConn.set(conn, b = new TokenBucket(fillInterval, capacity));
      return b;
    }
    : () => bucket;
  return {
    name: "req-rate-limit",
    bucket,
    async preCall(ctx, args) {
      const b = bucketOf(ctx.conn);
      if (block) await b.wait(ctx.signal);
      else if (!b.takeAvailable()) throw new ReqReachLimitError();
      return args;
    },
  };
}
