/**
 * XClient's operations that try one server once, with no fail mode: `send` (oneway) and
 * `sendRaw` (Go's `SendRaw`), each bounded like a call, the server's health marked by the
 * outcome. Moved out of `xclient.ts`, which keeps their public methods.
 *
 * @module
 */
import { createMessage, type Message } from "../protocol/message.ts";
import { isRetryable } from "./errors.ts";
import type { CallOptions, XClientOptions } from "./options.ts";
import type { ClientPluginChain } from "./_plugin_chain.ts";
import type { ClientPool } from "./_pool.ts";
import type { ServerHealth } from "./_health.ts";
import { type Budget, budgetOf, timedOut, tryOptions } from "./_bounds.ts";

/** What a one-server try uses of its XClient. */
export interface OneTry {
  /** The service called. */
  readonly servicePath: string;
  /** Its options (`timeout`). */
  readonly options: XClientOptions;
  /** The bound of an operation without a timeout, ms (undefined: none). */
  readonly maxWait: number | undefined;
  /** Waits for the discovery's first list (see XClient's `#ready`). */
  ready(signal: AbortSignal | undefined, budget: Budget | undefined): Promise<void>;
  /** The server for `method`, not one of `tried` when another can be had (as `Tries.pick`). */
  pick(method: string, args: unknown, tried?: Set<string>): string;
  /** The listed servers and their health. */
  readonly health: ServerHealth;
  /** One Client per server. */
  readonly pool: ClientPool;
  /** The client plugins, if any. */
  readonly plugins: ClientPluginChain | undefined;
}

/**
 * One try of `run` on the server chosen for `method` (no fail mode), bounded like a call; the
 * server's health is marked by its outcome.
 */
export async function tryOnce<R>(
  x: OneTry,
  method: string,
  args: unknown,
  options: CallOptions,
  run: (key: string, options: CallOptions) => Promise<R>,
): Promise<R> {
  const budget = budgetOf(options.timeout ?? x.options.timeout, x.maxWait);
  await x.ready(options.signal, budget);
  const key = x.pick(method, args);
  try {
    const r = await run(key, budget === undefined ? options : tryOptions(options, budget));
    x.health.markSuccess(key);
    return r;
  } catch (e) {
    if (isRetryable(e)) x.health.markFailure(key, e);
    throw timedOut(e, budget);
  }
}

/** A oneway call to one selected server: resolves when written (`XClient.send`). */
export async function sendOnce(
  x: OneTry,
  method: string,
  args: unknown,
  options: CallOptions,
): Promise<void> {
  await tryOnce(
    x,
    method,
    args,
    options,
    (key, o) => x.pool.withClient(key, (c) => c.send(x.servicePath, method, args, o)),
  );
}

/**
 * A message built by the caller, sent to one selected server (`XClient.sendRaw`, Go's
 * `SendRaw`): the response message, undefined for oneway.
 */
export function sendRawOnce(
  x: OneTry,
  req: Message,
  options: CallOptions,
): Promise<Message | undefined> {
  return tryOnce(x, req.serviceMethod, req.payload, options, (key, opts) => {
    const msg = createMessage({
      ...req,
      servicePath: req.servicePath || x.servicePath,
      metadata: { ...req.metadata },
    });
    const send = () => x.pool.withClient(key, (c) => c.sendRaw(msg, opts));
    // As Go's wrapSendRaw: preCall/postCall around it, the payload as args.
    return x.plugins?.wrapsCalls
      ? x.plugins.around({
        address: key,
        servicePath: msg.servicePath,
        serviceMethod: msg.serviceMethod,
        args: msg.payload,
        metadata: msg.metadata,
        oneway: msg.oneway,
      }, send)
      : send();
  });
}
