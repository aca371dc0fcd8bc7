/**
 * Internal: the server's push sender — the active client connections, their queued push bytes,
 * and the write of one push (a oneway Request from the server, as Go's `Server.SendMessage`).
 *
 * @module
 */
import type { CodecRegistry } from "../codec/registry.ts";
import { CompressType, MessageType, SerializeType } from "../protocol/constants.ts";
import { createMessage, HEADER_LENGTH, type Message, type Metadata } from "../protocol/message.ts";
import { utf8Length } from "../protocol/utf8.ts";
import { messageLengthOver } from "../protocol/encode.ts";
import { FrameTooLargeError } from "../protocol/errors.ts";
import type { ConnInfo } from "./context.ts";
import type { PluginChain } from "./_plugin_chain.ts";
import {
  ClientConnClosedError,
  PushBufferFullError,
  type PushContext,
  type SendMessageOptions,
} from "./push.ts";

/** The part of a server connection a push needs. */
export interface PushTarget {
  readonly info: ConnInfo;
  send(msg: Message): void;
  /** Resolves when everything queued so far was written, or the connection closed. */
  drained(): Promise<void>;
  /** Bytes of pushes queued and not yet known to be written (kept by the sender). */
  pushPending: number;
  /** The longest frame written on it (bytes; undefined: no limit, nothing is framed). */
  readonly maxReplyLength?: number;
}

/** Options of {@linkcode PushSender}. */
export interface PushSenderOptions {
  /** The open connection `conn` is of; undefined once it closed (or for an unknown one). */
  readonly find: (conn: ConnInfo) => PushTarget | undefined;
  /** The server's open connections, oldest first. */
  readonly active: () => ConnInfo[];
  /** Bytes of pushes a connection may have queued. */
  readonly bufferSize: number;
  readonly codecs: CodecRegistry;
  /** The server's plugin chain (`preWriteRequest`, `postWriteRequest`). */
  readonly plugins: PluginChain;
}

/**
 * Sends pushes to the server's open connections with bounded queueing (the count of queued
 * bytes lives on each connection, so an idle connection costs the sender nothing).
 */
export class PushSender {
  readonly #options: PushSenderOptions;
  #seq = 0n;

  constructor(options: PushSenderOptions) {
    this.#options = options;
  }

  /** The open connections, oldest first. */
  active(): ConnInfo[] {
    return this.#options.active();
  }

  /** Bytes of pushes queued on `conn` and not yet written (0 for an unknown connection). */
  pending(conn: ConnInfo): number {
    return this.#options.find(conn)?.pushPending ?? 0;
  }

  async send(
    conn: ConnInfo,
    servicePath: string,
    serviceMethod: string,
    metadata: Metadata | undefined,
    data: unknown,
    options: SendMessageOptions,
  ): Promise<void> {
    const ctx: PushContext = { conn, startedAt: Date.now() };
    this.#options.plugins.preWriteRequest(ctx);
    const serializeType = options.serializeType ?? SerializeType.SerializeNone;
    const payload = this.#options.codecs.get(serializeType).encode(data);
    const msg = createMessage({
      messageType: MessageType.Request,
      oneway: true,
      serializeType,
      compressType: payload.byteLength > 1024 ? options.compressType ?? CompressType.None : 0,
      seq: ++this.#seq,
      servicePath,
      serviceMethod,
      metadata: { ...metadata },
      payload,
    });
    let error: unknown;
    try {
      await this.#write(conn, msg);
    } catch (e) {
      error = e;
    }
    this.#options.plugins.postWriteRequest(ctx, msg, error);
    if (error !== undefined) throw error;
  }

  async #write(conn: ConnInfo, msg: Message): Promise<void> {
    const a = this.#options.find(conn);
    if (!a) throw new ClientConnClosedError(conn.remoteAddress);
    const max = a.maxReplyLength;
    if (max !== undefined) {
      // A client with the same limit would close its whole connection on it.
      const over = messageLengthOver(msg, max);
      if (over > 0) throw new FrameTooLargeError(over, max);
    }
    const size = frameSize(msg);
    const limit = this.#options.bufferSize;
    // One push larger than the whole buffer still goes when nothing else is queued.
    if (a.pushPending > 0 && a.pushPending + size > limit) {
      throw new PushBufferFullError(conn.remoteAddress, a.pushPending, limit);
    }
    a.pushPending += size;
    try {
      a.send(msg);
      await a.drained();
    } finally {
      a.pushPending -= size;
    }
    // Closing resolves the drain waiters before the connection is detached in the same turn:
    // still attached now means the bytes reached the socket.
    if (this.#options.find(conn) !== a) throw new ClientConnClosedError(conn.remoteAddress);
  }
}

/** The frame's length on the wire before compression, in bytes. */
function frameSize(msg: Message): number {
  let n = HEADER_LENGTH + 12 + utf8Length(msg.servicePath) + utf8Length(msg.serviceMethod);
  for (const k in msg.metadata) n += 8 + utf8Length(k) + utf8Length(msg.metadata[k]);
  return n + msg.payload.byteLength;
}
