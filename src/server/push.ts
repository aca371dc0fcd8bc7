/**
 * Server push: the public types of {@linkcode Server.sendMessage} — its options, the context its
 * plugin hooks receive, and its errors.
 *
 * @module
 */
import type { CompressType } from "../protocol/constants.ts";
import { RpcxError } from "../protocol/errors.ts";
import type { ConnInfo } from "./context.ts";

/**
 * Bytes of pushes a connection may have queued but not yet written to its socket, by default
 * (4 MiB). Past it, {@linkcode Server.sendMessage} fails with {@linkcode PushBufferFullError}
 * instead of queueing more. Set per server with `ServerOptions.pushBufferSize`.
 */
export const DEFAULT_PUSH_BUFFER_SIZE = 4 * 1024 * 1024;

/**
 * Options of one {@linkcode Server.sendMessage}.
 *
 * @example
 * ```ts
 * import { SerializeType, type SendMessageOptions } from "@rpcx/core";
 * const o: SendMessageOptions = { serializeType: SerializeType.JSON };
 * console.log(o.serializeType); // 1
 * ```
 */
export interface SendMessageOptions {
  /**
   * Serializer of `data` (default `SerializeType.SerializeNone`: `data` is bytes or a string,
   * sent as they are, which is all Go's `SendMessage` sends).
   */
  serializeType?: number;
  /** Compression (default None); as for replies, only payloads over 1024 bytes are compressed. */
  compressType?: CompressType;
}

/**
 * What the push hooks of a plugin (`preWriteRequest`, `postWriteRequest`) learn of a push. Mirrors
 * the context Go's `SendMessage` hands its PreWriteRequest/PostWriteRequest plugins.
 *
 * @example
 * ```ts
 * import type { PushContext } from "@rpcx/core/extend";
 * const ctx: PushContext = {
 *   conn: { id: 1, network: "tcp", remoteAddress: "127.0.0.1:50000", localAddress: "127.0.0.1:8972" },
 *   startedAt: Date.now(),
 * };
 * console.log(ctx.conn.remoteAddress);
 * ```
 */
export interface PushContext {
  /** The connection pushed to. */
  readonly conn: ConnInfo;
  /** When the push started (ms since epoch; Go: `StartSendRequestContextKey`). */
  readonly startedAt: number;
}

/**
 * A push went to a client connection that is closed (or closed before the push was written).
 *
 * @example
 * ```ts
 * import { ClientConnClosedError } from "@rpcx/core";
 * const e = new ClientConnClosedError("127.0.0.1:50000");
 * console.log(e.message); // "rpcx: client connection 127.0.0.1:50000 is closed"
 * ```
 */
export class ClientConnClosedError extends RpcxError {
  /** The client's address. */
  readonly remoteAddress: string;
  /** Creates the error for the client at `remoteAddress`. */
  constructor(remoteAddress: string) {
    super(`rpcx: client connection ${remoteAddress} is closed`);
    this.remoteAddress = remoteAddress;
  }
}

/**
 * A push was refused because the client is not reading fast enough: the connection already has
 * `pending` bytes of pushes queued and this one would take it past `limit` (the server's
 * `pushBufferSize`). Nothing was queued; try again later (e.g. after an awaited push resolves).
 *
 * @example
 * ```ts
 * import { PushBufferFullError } from "@rpcx/core";
 * const e = new PushBufferFullError("127.0.0.1:50000", 4194000, 4194304);
 * console.log(e.limit); // 4194304
 * ```
 */
export class PushBufferFullError extends RpcxError {
  /** The client's address. */
  readonly remoteAddress: string;
  /** Bytes of pushes queued on the connection when this one was refused. */
  readonly pending: number;
  /** The limit in bytes. */
  readonly limit: number;
  /** Creates the error. */
  constructor(remoteAddress: string, pending: number, limit: number) {
    super(
      `rpcx: push buffer of client connection ${remoteAddress} is full ` +
        `(${pending} bytes queued, limit ${limit})`,
    );
    this.remoteAddress = remoteAddress;
    this.pending = pending;
    this.limit = limit;
  }
}
