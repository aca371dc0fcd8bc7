/**
 * Raw handlers (Go rpcx's `Server.AddHandler(servicePath, serviceMethod, func(*Context) error)`):
 * a function that gets the request undecoded and answers it itself, when it likes.
 *
 * @module
 */
import type { Codec } from "../codec/codec.ts";
import type { CodecRegistry } from "../codec/registry.ts";
import type { Message } from "../protocol/message.ts";
import { runAsCall } from "./call_scope.ts";
import type { CallContext } from "./context.ts";

/**
 * What a raw handler gets (Go's `server.Context`): the call's context, the request's payload
 * undecoded, and the means to answer.
 *
 * @example
 * ```ts
 * import { type HandlerContext, Server } from "@rpcx/core";
 * const server = new Server();
 * server.addHandler("Arith", "Mul", (ctx: HandlerContext) => {
 *   const { A, B } = ctx.bind<{ A: number; B: number }>();
 *   ctx.replyMetadata["by"] = "handler";
 *   setTimeout(() => ctx.write({ C: A * B }), 10); // answered later
 * });
 * ```
 */
export interface HandlerContext extends CallContext {
  /** The request's payload, as it came (Go: `Context.Payload()`). */
  readonly payload: Uint8Array;
  /**
   * Decodes the payload with the request's codec (Go: `Context.Bind(v)`). Throws
   * `UnsupportedCodecError` for a serialize type the server has no codec for, `CodecError` when
   * the payload does not decode.
   */
  bind<T = unknown>(): T;
  /**
   * Answers with `reply`, encoded in the request's codec, and `replyMetadata` (Go:
   * `Context.Write(v)`); `undefined` sends an empty payload, as Go's `Write(nil)`. It may be
   * called after the handler returned. Returns false, sending nothing, when the call needs no
   * answer (oneway) or no longer takes one: already answered, its deadline (`__ServerTimeout`)
   * passed, or the server closed. Throws `CodecError` when `reply` cannot be encoded (the call
   * is then still unanswered).
   */
  write(reply?: unknown): boolean;
  /**
   * Answers with an error (Go: `Context.WriteError(err)`): the caller gets a service error with
   * its text (the server's `errorText`). Returns false as {@linkcode HandlerContext.write} does.
   */
  writeError(error: unknown): boolean;
}

/**
 * A raw handler (Go's `server.Handler`, `func(ctx *Context) error`). Throwing (or rejecting)
 * before it answered answers with the error (Go: `WriteError(err)`); either way the error goes to
 * the server's `handleServiceError`. Returning without answering leaves the call in flight until
 * `ctx.write`/`ctx.writeError`, its deadline, or the server's close.
 *
 * @example
 * ```ts
 * import { Server } from "@rpcx/core";
 * import type { Handler } from "@rpcx/core/extend";
 * const echo: Handler = (ctx) => void ctx.write(ctx.bind());
 * new Server().addHandler("Echo", "Say", echo); // Echo.Say answers what it was sent
 * ```
 */
export type Handler = (ctx: HandlerContext) => void | Promise<void>;

/** How a raw handler answered: a payload, an error, or nothing (oneway, or no answer taken). */
export type HandlerAnswer =
  | { readonly payload: Uint8Array; readonly error?: undefined; readonly thrown?: false }
  | { readonly payload?: undefined; readonly error: unknown; readonly thrown: boolean }
  | undefined;

/**
 * Runs `handler` for `req` as the call `ctx`; resolves with its answer (see
 * {@linkcode HandlerAnswer}) once it answered (a oneway request: once the handler settled), or
 * with undefined once `ctx.signal` aborts first. `lateError` gets an error the handler threw
 * after it had answered.
 */
export function runHandler(
  handler: Handler,
  req: Message,
  ctx: CallContext,
  codecs: CodecRegistry,
  lateError: (error: unknown) => void,
): Promise<HandlerAnswer> {
  return new Promise<HandlerAnswer>((resolve) => {
    let open = true;
    const end = (answer: HandlerAnswer): boolean => {
      if (!open) return false;
      open = false;
      ctx.signal.removeEventListener("abort", onAbort);
      resolve(answer);
      return true;
    };
    const onAbort = () => void end(undefined);
    if (ctx.signal.aborted) return end(undefined);
    ctx.signal.addEventListener("abort", onAbort, { once: true });
    let codec: Codec | undefined;
    const codecOf = () => (codec ??= codecs.get(req.serializeType));
    const hctx: HandlerContext = {
      ...ctx,
      payload: req.payload,
      bind: <T>() => codecOf().decode(req.payload) as T,
      write: (reply?: unknown) => {
        if (!open || req.oneway) return false;
        const payload = reply === undefined ? new Uint8Array(0) : codecOf().encode(reply);
        return end({ payload });
      },
      writeError: (error: unknown) => !req.oneway && end({ error, thrown: false }),
    };
    const settled = () => {
      if (req.oneway) end(undefined);
    };
    const failed = (error: unknown) => {
      if (!end({ error, thrown: true })) lateError(error);
    };
    try {
      const r = runAsCall(ctx, handler as (a: unknown, c: CallContext) => unknown, hctx);
      if (typeof (r as PromiseLike<unknown> | undefined)?.then === "function") {
        (r as PromiseLike<unknown>).then(settled, failed);
      } else {
        settled();
      }
    } catch (e) {
      failed(e);
    }
  });
}
