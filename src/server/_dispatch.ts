/**
 * Request dispatch: one request message in, one response message out (or none for oneway),
 * with auth, the call context, the plugin hooks around the call and the payload codecs. No
 * socket here: the connection layer feeds it and writes what it returns.
 *
 * @module
 */
import type { CodecRegistry } from "../codec/registry.ts";
import {
  CompressType,
  MessageStatusType,
  MessageType,
  MetadataKeys,
} from "../protocol/constants.ts";
import { RpcxError } from "../protocol/errors.ts";
import { createMessage, type Message, type Metadata } from "../protocol/message.ts";
import type { CallContext, ConnInfo } from "./context.ts";
import type { PluginChain } from "./_plugin_chain.ts";
import type { ServiceEntry } from "./service.ts";

/** Checks a request's `__AUTH` token (see `AuthFunction` in server.ts). */
export type AuthCheck = (
  token: string | undefined,
  req: Message,
  conn: ConnInfo,
) => boolean | void | Promise<boolean | void>;

/** Reason used when auth refuses without an error of its own. */
export const AUTH_FAILED = "rpcx: auth failed";

/** What a dispatched request produced. */
export interface Outcome {
  /** The response to write; undefined for oneway requests. */
  readonly res: Message | undefined;
  /** Close the connection once the response is written (auth refused, as Go). */
  readonly close: boolean;
}

/** What the dispatcher needs from the server. */
export interface DispatcherDeps {
  readonly services: ReadonlyMap<string, ServiceEntry>;
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
        return { res: req.oneway ? undefined : this.errorReply(req, reason), close: true };
      }
    }
    const ctx = this.#context(req, conn, replyMetadata);
    let res: Message;
    try {
      await this.#d.plugins.preHandleRequest(ctx, req);
      const payload = await this.#invoke(req, ctx);
      res = createMessage({
        version: req.version,
        messageType: MessageType.Response,
        compressType: payload.byteLength > 1024 && req.compressType !== CompressType.None
          ? req.compressType
          : CompressType.None,
        serializeType: req.serializeType,
        seq: req.seq,
        servicePath: req.servicePath,
        serviceMethod: req.serviceMethod,
        metadata: replyMetadata,
        payload,
      });
    } catch (e) {
      res = this.errorReply(req, e, replyMetadata);
    }
    return { res: req.oneway ? undefined : res, close: false };
  }

  #context(req: Message, conn: ConnInfo, replyMetadata: Metadata): CallContext {
    const timeoutText = req.metadata[MetadataKeys.ServerTimeout];
    const timeoutMs = timeoutText ? Number.parseInt(timeoutText, 10) : NaN;
    const timed = Number.isFinite(timeoutMs) && timeoutMs > 0;
    return {
      servicePath: req.servicePath,
      serviceMethod: req.serviceMethod,
      metadata: req.metadata,
      replyMetadata,
      remoteAddress: conn.remoteAddress,
      conn,
      deadline: timed ? Date.now() + timeoutMs : undefined,
      signal: timed
        ? AbortSignal.any([this.#d.stop, AbortSignal.timeout(timeoutMs)])
        : this.#d.stop,
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
      reply = await method(args, ctx);
    } catch (e) {
      error = e;
    }
    ({ reply, error } = await this.#d.plugins.postCall(ctx, args, reply, error));
    if (error !== undefined) throw error;
    if (req.oneway) return new Uint8Array(0);
    return codec.encode(reply);
  }

  /** An error response to `req` carrying `error`'s text as Go writes it. */
  errorReply(req: Message, error: unknown, metadata: Metadata = {}): Message {
    metadata[MetadataKeys.ServiceError] = this.#d.errorText(error);
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
