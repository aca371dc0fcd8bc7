/**
 * Request dispatch: one request message in, one response message out (or none for oneway),
 * with auth, the call context, the plugin hooks around the call and the payload codecs. No
 * socket here: the connection layer feeds it and writes what it returns.
 *
 * @module
 */
import { encodePayload } from "../codec/_pooled.ts";
import type { CodecRegistry } from "../codec/registry.ts";
import {
  CompressType,
  MessageStatusType,
  MessageType,
  MetadataKeys,
} from "../protocol/constants.ts";
import { RpcxError } from "../protocol/errors.ts";
import { runtime } from "../runtime/mod.ts";
import { createMessage, type Message, type Metadata } from "../protocol/message.ts";
import type { CallContext, ConnInfo } from "./context.ts";
import { runAsCall } from "./call_scope.ts";
import { serviceErrorText } from "./_error_text.ts";
import type { PluginChain } from "./_plugin_chain.ts";
import type { ServiceEntry } from "./service.ts";
import { type Handler, type HandlerAnswer, runHandler } from "./handler.ts";

/** Checks a request's `__AUTH` token (see `AuthFunction` in server.ts). */
export type AuthCheck = (
  token: string | undefined,
  req: Message,
  conn: ConnInfo,
) => boolean | void | Promise<boolean | void>;

/** Reason used when auth refuses without an error of its own. */
export const AUTH_FAILED = "rpcx: auth failed";

/** The key of a raw handler (Go's `servicePath + "." + serviceMethod`, without its ambiguity). */
export function handlerKey(servicePath: string, serviceMethod: string): string {
  return `${servicePath}\n${serviceMethod}`;
}

/** What a dispatched request produced. */
export interface Outcome {
  /** The response to write; undefined for oneway requests. */
  readonly res: Message | undefined;
  /** Close the connection once the response is written (auth refused, as Go). */
  readonly close: boolean;
  /**
   * The service error, for the server's `handleServiceError` (Go's `HandleServiceError`): what
   * auth refused with, what the lookup, the codec, `preCall`, the method, `postCall` or a raw
   * handler failed with; undefined when none.
   */
  readonly error?: unknown;
}

/** What the dispatcher needs from the server. */
export interface DispatcherDeps {
  readonly services: ReadonlyMap<string, ServiceEntry>;
  /** Raw handlers by {@linkcode handlerKey} (Go's router; they come before the services). */
  readonly handlers: ReadonlyMap<string, Handler>;
  /** A raw handler threw after it had answered: the error goes to the service-error hook. */
  readonly lateError: (error: unknown, req: Message, conn: ConnInfo) => void;
  readonly codecs: CodecRegistry;
  readonly plugins: PluginChain;
  readonly auth: AuthCheck | undefined;
  readonly errorText: (error: unknown) => string;
  /** Aborted when the server closes hard: every call's signal follows it. */
  readonly stop: AbortSignal;
}

/** Turns requests into responses. */
export class Dispatcher {
  readonly #d: DispatcherDeps;

  /** A dispatcher over the server's services, codecs and plugins. */
  constructor(deps: DispatcherDeps) {
    this.#d = deps;
  }

  /** The answer to a heartbeat: the same frame as a response. Runs the heartbeat hooks. */
  heartbeat(req: Message, conn: ConnInfo): Message {
    this.#d.plugins.heartbeat(req, conn);
    return { ...req, messageType: MessageType.Response };
  }

  /** Runs one call request; never throws (failures become error responses). */
  async call(req: Message, conn: ConnInfo): Promise<Outcome> {
    const replyMetadata: Metadata = {};
    if (this.#d.auth) {
      let ok: boolean | void = false;
      let reason: unknown = AUTH_FAILED;
      try {
        ok = await this.#d.auth(req.metadata[MetadataKeys.Auth], req, conn);
      } catch (e) {
        reason = e;
      }
      if (ok === false) {
        return {
          res: req.oneway ? undefined : this.errorReply(req, reason),
          close: true,
          error: reason === AUTH_FAILED ? new RpcxError(AUTH_FAILED) : reason,
        };
      }
    }
    const deadline = callDeadline(req, this.#d.stop);
    const ctx = this.#context(req, conn, replyMetadata, deadline);
    let res: Message | undefined;
    let error: unknown;
    try {
      await this.#d.plugins.preHandleRequest(ctx, req);
      const handler = this.#d.handlers.size === 0
        ? undefined
        : this.#d.handlers.get(handlerKey(req.servicePath, req.serviceMethod));
      if (handler) {
        const answer = await runHandler(
          handler,
          req,
          ctx,
          this.#d.codecs,
          (e) => this.#d.lateError(e, req, conn),
        );
        ({ res, error } = this.#answerOf(req, answer, replyMetadata));
      } else {
        res = this.#response(req, await this.#invoke(req, ctx), replyMetadata);
      }
    } catch (e) {
      error = e;
      res = this.errorReply(req, e, replyMetadata);
    } finally {
      // Go's `defer cancel()`: the call's timer and its hold on the server's signal go now, not
      // when the deadline passes.
      deadline?.release();
    }
    return { res: req.oneway ? undefined : res, close: false, error };
  }

  /** The response a raw handler's answer makes, and the error for the hook (one it threw). */
  #answerOf(
    req: Message,
    answer: HandlerAnswer,
    replyMetadata: Metadata,
  ): { res: Message | undefined; error: unknown } {
    if (answer === undefined) return { res: undefined, error: undefined };
    if (answer.payload) {
      return { res: this.#response(req, answer.payload, replyMetadata), error: undefined };
    }
    return {
      res: this.errorReply(req, answer.error, replyMetadata),
      error: answer.thrown ? answer.error : undefined,
    };
  }

  /** The response carrying `payload` (compressed as the request was when over 1 KiB, as Go). */
  #response(req: Message, payload: Uint8Array, metadata: Metadata): Message {
    return createMessage({
      version: req.version,
      messageType: MessageType.Response,
      compressType: payload.byteLength > 1024 && req.compressType !== CompressType.None
        ? req.compressType
        : CompressType.None,
      serializeType: req.serializeType,
      seq: req.seq,
      servicePath: req.servicePath,
      serviceMethod: req.serviceMethod,
      metadata,
      payload,
    });
  }

  #context(
    req: Message,
    conn: ConnInfo,
    replyMetadata: Metadata,
    deadline: CallDeadline | undefined,
  ): CallContext {
    return {
      servicePath: req.servicePath,
      serviceMethod: req.serviceMethod,
      metadata: req.metadata,
      replyMetadata,
      remoteAddress: conn.remoteAddress,
      conn,
      deadline: deadline?.at,
      signal: deadline?.signal ?? this.#d.stop,
      serializeType: req.serializeType,
      seq: req.seq,
    };
  }

  async #invoke(req: Message, ctx: CallContext): Promise<Uint8Array> {
    const service = this.#d.services.get(req.servicePath);
    if (!service) throw new RpcxError(`rpcx: can't find service ${req.servicePath}`);
    const method = service.methods.get(req.serviceMethod);
    if (!method) throw new RpcxError(`rpcx: can't find method ${req.serviceMethod}`);
    const codec = this.#d.codecs.get(req.serializeType);
    const args = await this.#d.plugins.preCall(ctx, codec.decode(req.payload));
    let reply: unknown;
    let error: unknown;
    try {
      // Inside, the method's own calls take their deadline and trace from ctx (call_scope.ts).
      reply = await runAsCall(ctx, method as (args: unknown, ctx: CallContext) => unknown, args);
    } catch (e) {
      error = e;
    }
    ({ reply, error } = await this.#d.plugins.postCall(ctx, args, reply, error));
    if (error !== undefined) throw error;
    if (req.oneway) return new Uint8Array(0);
    // A large reply is encoded into a lent write buffer, given back once framed (_pooled.ts),
    // unless a postWriteResponse hook will read it after its write.
    return this.#d.plugins.has("postWriteResponse")
      ? codec.encode(reply)
      : encodePayload(codec, reply);
  }

  /** An error response to `req` carrying `error`'s text as Go writes it. */
  errorReply(req: Message, error: unknown, metadata: Metadata = {}): Message {
    let text: string;
    try {
      text = this.#d.errorText(error);
    } catch {
      // a user's errorText that throws must not end the server: Go's texts have no such case
      text = serviceErrorText(error);
    }
    metadata[MetadataKeys.ServiceError] = text;
    return createMessage({
      version: req.version,
      messageType: MessageType.Response,
      status: MessageStatusType.Error,
      serializeType: req.serializeType,
      seq: req.seq,
      servicePath: req.servicePath,
      serviceMethod: req.serviceMethod,
      metadata,
    });
  }
}

/**
 * The deadline of one call from its `__ServerTimeout` (ms): a signal aborted when the deadline
 * passes or the server stops hard, and {@linkcode CallDeadline.release} to drop the timer and the
 * listener on the server's signal once the call settles. Nothing is held past the call: a call
 * answered in 1 ms with a 10 s timeout costs nothing after it (with `AbortSignal.timeout` each
 * such call left ~450 B on the heap until its deadline).
 */
class CallDeadline {
  /** When the caller stops waiting (ms since epoch). */
  readonly at: number;
  readonly #ctrl = new AbortController();
  readonly #stop: AbortSignal;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(timeoutMs: number, stop: AbortSignal) {
    this.at = Date.now() + timeoutMs;
    this.#stop = stop;
    if (stop.aborted) {
      this.#ctrl.abort(stop.reason);
      return;
    }
    const timer = setTimeout(() => {
      this.#timer = undefined;
      this.release();
      this.#ctrl.abort(new DOMException("Signal timed out.", "TimeoutError"));
    }, timeoutMs);
    // As `AbortSignal.timeout`'s: a pending deadline does not keep the process alive.
    runtime().timers.unref(timer);
    this.#timer = timer;
    stop.addEventListener("abort", this);
  }

  /** Aborted at the deadline or when the server stops hard. */
  get signal(): AbortSignal {
    return this.#ctrl.signal;
  }

  /** The server's signal aborted (an event listener object: no closure per call). */
  handleEvent(): void {
    this.release();
    this.#ctrl.abort(this.#stop.reason);
  }

  /** The call settled: drop the timer and the listener (idempotent). */
  release(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#stop.removeEventListener("abort", this);
  }
}

/** The request's deadline, or undefined when it carries no positive `__ServerTimeout`. */
function callDeadline(req: Message, stop: AbortSignal): CallDeadline | undefined {
  const text = req.metadata[MetadataKeys.ServerTimeout];
  if (!text) return undefined;
  const ms = Number.parseInt(text, 10);
  return Number.isFinite(ms) && ms > 0 ? new CallDeadline(ms, stop) : undefined;
}
