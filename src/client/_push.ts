/**
 * Internal: the receiving end of server pushes shared by `Client` and `XClient` — decodes a
 * pushed message and hands it to the handler and every open stream, or logs (once) that it was
 * dropped because nothing receives pushes.
 *
 * @module
 */
import { CodecError } from "../codec/codec.ts";
import type { CodecRegistry } from "../codec/registry.ts";
import type { Message } from "../protocol/message.ts";
import { logger } from "../log/logger.ts";
import {
  type ServerMessage,
  type ServerMessageHandler,
  type ServerMessagesOptions,
  ServerMessageStream,
} from "./push.ts";

/** Whether a message read on a client connection is a server push (as Go's client decides). */
export function isServerPush(msg: Message): boolean {
  return msg.messageType === 0 && msg.oneway && !msg.heartbeat;
}

/** Decodes a push with its serializer; a failure is kept in `decodeError`. */
export function toServerMessage(
  msg: Message,
  server: string,
  codecs: CodecRegistry,
): ServerMessage {
  let payload: unknown;
  let decodeError: Error | undefined;
  try {
    payload = codecs.get(msg.serializeType).decode(msg.payload);
  } catch (e) {
    decodeError = e instanceof Error ? e : new CodecError(String(e), { cause: e });
  }
  return {
    server,
    servicePath: msg.servicePath,
    serviceMethod: msg.serviceMethod,
    metadata: msg.metadata,
    serializeType: msg.serializeType,
    seq: msg.seq,
    data: msg.payload,
    payload,
    decodeError,
    message: msg,
  };
}

/** The handler and streams of one client. */
export class PushReceivers {
  readonly #handler: ServerMessageHandler | undefined;
  readonly #streams = new Set<ServerMessageStream>();
  readonly #owner: string;
  readonly #block: boolean;
  #loggedDrop = false;
  #closed = false;

  /** `owner` names the client in logs; `block`: wait for room instead of dropping. */
  constructor(handler: ServerMessageHandler | undefined, owner: string, block: boolean) {
    this.#handler = handler;
    this.#owner = owner;
    this.#block = block;
  }

  /** A new stream of the pushes from now on (already ended once closed). */
  subscribe(options: ServerMessagesOptions): ServerMessageStream {
    const s = new ServerMessageStream(options, (x) => this.#streams.delete(x));
    if (this.#closed) s.end();
    else this.#streams.add(s);
    return s;
  }

  /**
   * Hands a push to the handler and the streams. In blocking mode, returns a promise that
   * settles once every stream has room again and the handler's promise settled.
   */
  dispatch(msg: ServerMessage): void | Promise<void> {
    if (!this.#handler && this.#streams.size === 0) {
      if (!this.#loggedDrop) {
        this.#loggedDrop = true;
        logger().warn(
          "rpcx client: dropped a server push: no onServerMessage handler and no " +
            "serverMessages() reader (further drops are not logged)",
          {
            client: this.#owner,
            server: msg.server,
            servicePath: msg.servicePath,
            serviceMethod: msg.serviceMethod,
          },
        );
      }
      return;
    }
    const block = this.#block;
    let waits: Promise<void>[] | undefined;
    if (this.#handler) {
      try {
        const r = this.#handler(msg);
        if (r instanceof Promise) {
          const handled = r.catch((e) => this.#handlerFailed(e));
          if (block) (waits ??= []).push(handled);
        }
      } catch (e) {
        this.#handlerFailed(e);
      }
    }
    for (const s of this.#streams) {
      const room = s.deliver(msg, block);
      if (room) (waits ??= []).push(room);
    }
    if (waits) return Promise.all(waits).then(() => {});
  }

  #handlerFailed(e: unknown): void {
    logger().error("rpcx client: onServerMessage failed", { client: this.#owner, error: e });
  }

  /** Ends every stream (the client closed). */
  close(): void {
    this.#closed = true;
    for (const s of [...this.#streams]) s.end();
  }
}
