/**
 * A cap on the calls a server runs at once, with a bounded queue of calls waiting for a slot.
 * Go rpcx bounds its handlers with a worker pool (`server.WithPool`).
 *
 * @example
 * ```ts
 * import { Server } from "@rpcx/core";
 * import { concurrencyLimit } from "@rpcx/core/plugins/concurrency";
 * new Server().use(concurrencyLimit({ max: 64, queue: 1000 }));
 * ```
 *
 * @module
 */
import { RpcxError } from "../protocol/errors.ts";
import type { Message } from "../protocol/message.ts";
import type { CallContext } from "../server/context.ts";
import type { ServerPlugin } from "../server/plugin.ts";

/**
 * A call was refused because `max` calls were running and `queue` more were waiting.
 *
 * @example
 * ```ts
 * import { ServerBusyError } from "@rpcx/core/plugins/concurrency";
 * console.log(new ServerBusyError(4, 8).message);
 * ```
 */
export class ServerBusyError extends RpcxError {
  /** Creates the error for the limits in force. */
  constructor(max: number, queue: number) {
    super(`rpcx: server busy: ${max} calls running and ${queue} waiting`);
  }
}

/**
 * Options of {@linkcode concurrencyLimit}.
 *
 * @example
 * ```ts
 * import type { ConcurrencyOptions } from "@rpcx/core/plugins/concurrency";
 * const o: ConcurrencyOptions = { max: 8, queue: 16 };
 * console.log(o.max);
 * ```
 */
export interface ConcurrencyOptions {
  /** Calls run at once (>= 1). */
  max: number;
  /** Calls that may wait for a slot (default 0: refuse at once when full). */
  queue?: number;
}

/**
 * A server plugin that lets at most `max` calls run at once; up to `queue` more wait for a slot
 * in arrival order (until their deadline: a waiting call whose `__ServerTimeout` passes fails
 * with the abort reason), and any beyond fail at once with {@linkcode ServerBusyError}. A slot is
 * taken in `preCall` and given back in `postCall` (or, when a later plugin's `preCall` threw, once
 * the error response is written). `running` and `waiting` tell the counts now.
 *
 * @example
 * ```ts
 * import { Server } from "@rpcx/core";
 * import { concurrencyLimit } from "@rpcx/core/plugins/concurrency";
 * const limit = concurrencyLimit({ max: 2, queue: 10 });
 * new Server().use(limit);
 * console.log(limit.running, limit.waiting); // 0 0
 * ```
 */
export function concurrencyLimit(
  options: ConcurrencyOptions,
): ServerPlugin & { readonly running: number; readonly waiting: number } {
  const max = options.max;
  const queue = options.queue ?? 0;
  if (!(max >= 1) || !(queue >= 0)) {
    throw new RangeError("concurrencyLimit: max must be >= 1 and queue >= 0");
  }
  let running = 0;
  const waiters: { grant: () => void }[] = [];
  const holding = new WeakSet<CallContext>();
  const contexts = new WeakMap<Message, CallContext>();
  const release = () => {
    const next = waiters.shift();
    if (next) next.grant(); // the slot passes on
    else running--;
  };
  return {
    name: "concurrency-limit",
    get running() {
      return running;
    },
    get waiting() {
      return waiters.length;
    },
    async preCall(ctx, args) {
      if (running < max) {
        running++;
      } else if (waiters.length < queue) {
        await new Promise<void>((resolve, reject) => {
          const signal = ctx.signal;
          const onAbort = () => {
            const i = waiters.indexOf(waiter);
            if (i >= 0) waiters.splice(i, 1);
            reject(signal.reason);
          };
          const waiter = {
            grant: () => {
              signal.removeEventListener("abort", onAbort);
              resolve();
            },
          };
          if (signal.aborted) return reject(signal.reason);
          waiters.push(waiter);
          signal.addEventListener("abort", onAbort, { once: true });
        });
      } else {
        throw new ServerBusyError(max, queue);
      }
      holding.add(ctx);
      return args;
    },
    preHandleRequest(ctx, req) {
      contexts.set(req, ctx);
    },
    postCall(ctx, _args, reply) {
      if (holding.delete(ctx)) release();
      return reply;
    },
    postWriteResponse(req) {
      // A later plugin's preCall threw, so no postCall ran: the slot comes back here.
      const ctx = contexts.get(req);
      if (ctx && holding.delete(ctx)) release();
    },
  };
}
