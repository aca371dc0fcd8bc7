/**
 * The call a server is running, found from anywhere in its async context: a method's own calls
 * (on a `Client`, `XClient` or `OneClient`) take their deadline, signal and trace metadata from
 * it without being told (Go passes `ctx` on; grpc-js and Connect propagate deadlines alike). It
 * rests on `AsyncLocalStorage` (`node:async_hooks`: Deno, Node and Bun have it).
 *
 * @module
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { Metadata } from "../protocol/message.ts";
import type { CallContext } from "./context.ts";

/** The metadata keys of W3C trace propagation, passed on to a method's own calls. */
export const TRACE_METADATA_KEYS: readonly string[] = ["traceparent", "tracestate", "baggage"];

const scope = new AsyncLocalStorage<CallContext>();

/**
 * The call being served in this async context (inside a method, and in what it starts), when
 * its request carried a deadline (`__ServerTimeout`) or trace metadata; else undefined. Calls
 * made there take it as their `parent` (see `CallOptions.parent`).
 *
 * @example
 * ```ts
 * import { currentCall, Server } from "@rpcx/core";
 * const server = new Server();
 * server.register({ Left: () => (currentCall()?.deadline ?? Date.now()) - Date.now() }, "Svc");
 * console.log(currentCall()); // undefined: nothing is served here
 * ```
 */
export function currentCall(): CallContext | undefined {
  return scope.getStore();
}

/** Whether `metadata` holds a trace key. */
function traced(metadata: Readonly<Metadata>): boolean {
  for (const k of TRACE_METADATA_KEYS) if (metadata[k] !== undefined) return true;
  return false;
}

/**
 * Runs `method(args, ctx)` as the call `ctx` (see {@linkcode currentCall}) when it has something
 * to pass on (a deadline or trace metadata); else calls it directly, at no cost.
 */
export function runAsCall<R>(
  ctx: CallContext,
  method: (args: unknown, ctx: CallContext) => R,
  args: unknown,
): R {
  if (ctx.deadline === undefined && !traced(ctx.metadata)) return method(args, ctx);
  return scope.run(ctx, method, args, ctx);
}
