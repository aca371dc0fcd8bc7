/**
 * What a `FramedConnection` is given: the callbacks it reports to and its options
 * (read buffer sizes, the batch encoder, the first-bytes sniffer, the frame limits).
 *
 * @module
 */
import type { Message } from "../protocol/message.ts";
import type { BatchAlloc } from "../protocol/encode.ts";
import type { FrameDecoderOptions } from "../protocol/framing.ts";
import type { ProtocolError } from "../protocol/errors.ts";
import type { FrameHeader } from "../protocol/message.ts";
import type { ByteStream } from "./byte_stream.ts";

/**
 * Callbacks of a `FramedConnection`.
 *
 * @example
 * ```ts
 * import { Server } from "@rpcx/core";
 * import {
 *   createMessage,
 *   FramedConnection,
 *   type FramedConnectionHandlers,
 *   splitHostPort,
 * } from "@rpcx/core/protocol";
 * const server = new Server();
 * const conn = await Deno.connect(splitHostPort(await server.serve("tcp", "127.0.0.1:0")));
 * const closed = Promise.withResolvers<void>();
 * const handlers: FramedConnectionHandlers = {
 *   onMessage: (m) => {
 *     console.log("reply", m.seq, m.heartbeat); // reply 7n true
 *     fc.close();
 *   },
 *   onError: (e) => console.error("failed:", e),
 *   onClose: () => closed.resolve(),
 * };
 * const fc = new FramedConnection(conn, handlers);
 * fc.start();
 * fc.send(createMessage({ heartbeat: true, seq: 7n }));
 * await closed.promise;
 * await server.close();
 * ```
 */
export interface FramedConnectionHandlers {
  /**
   * A message arrived. A returned promise pauses reading until it settles (backpressure from a
   * slow consumer: the peer's writes then wait on the socket).
   */
  onMessage(msg: Message): void | Promise<void>;
  /** The connection failed (bad frame, socket error); it is closed right after. */
  onError?(error: unknown): void;
  /** The connection closed (either side). Called once. */
  onClose?(): void;
  /**
   * A frame was refused without failing the stream (see `FrameDecoderOptions.onFrameError`);
   * without this handler (and without `options.onFrameError`) such a frame closes the connection.
   */
  onFrameError?(error: ProtocolError, header: FrameHeader): void;
}

/**
 * Options of a `FramedConnection`.
 *
 * @example
 * ```ts
 * import { Server } from "@rpcx/core";
 * import {
 *   createMessage,
 *   FramedConnection,
 *   type FramedConnectionOptions,
 *   type Message,
 *   splitHostPort,
 * } from "@rpcx/core/protocol";
 * // One options object may serve every connection: sizes are read from it, not copied.
 * const options: FramedConnectionOptions = { maxMessageLength: 1 << 20, readBufferSize: 32 * 1024 };
 * const server = new Server();
 * const conn = await Deno.connect(splitHostPort(await server.serve("tcp", "127.0.0.1:0")));
 * const reply = Promise.withResolvers<Message>();
 * const fc = new FramedConnection(conn, { onMessage: (m) => reply.resolve(m) }, options);
 * fc.start();
 * fc.send(createMessage({ heartbeat: true, seq: 2n }));
 * console.log((await reply.promise).seq); // 2n
 * fc.close();
 * await server.close();
 * ```
 */
export interface FramedConnectionOptions extends FrameDecoderOptions {
  /**
   * Encodes a batch of messages into one buffer; defaults to the pure-TS encoder. `alloc`
   * lends a pooled write buffer of the length asked (given back once written): an encoder
   * that takes its buffer from there costs no allocation per write.
   */
  encodeBatch?: (msgs: readonly Message[], alloc?: BatchAlloc) => Uint8Array;
  /** Largest read buffer in bytes (default 64 KiB). */
  readBufferSize?: number;
  /**
   * Stop reading while more than this many bytes of messages wait to be written (queued, or
   * in a write the stream has not taken), and read on once that fell to half: a peer that
   * sends and never reads what it is sent is held back by TCP instead of making us queue
   * answers without end. A server sets it (`ServerOptions.maxWriteBacklog`); default none
   * (a client never stops reading: its answers come on the same connection).
   */
  maxWriteBacklog?: number;
  /** First (and smallest) read buffer in bytes (default 256, at least 64). */
  initialReadBufferSize?: number;
  /**
   * Sees the first bytes read, before they are decoded; returning true hands the stream over to
   * another protocol (the server's HTTP side, as Go's cmux matches on the first bytes): the
   * connection then stops reading and closes (`onClose` runs) without closing the stream, which
   * now belongs to whoever took it, `head` with it. `handlers` are the connection's.
   */
  sniff?(head: Uint8Array, stream: ByteStream, handlers: FramedConnectionHandlers): boolean;
}
