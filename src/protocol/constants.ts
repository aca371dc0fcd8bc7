/**
 * Constants of the rpcx wire protocol: header bits, message kinds and reserved metadata keys.
 *
 * @module
 */

/** The first byte of every rpcx frame. */
export const MAGIC_NUMBER = 0x08;

/**
 * Whether a frame is a request or a response (bit 7 of header byte 2).
 *
 * @example
 * ```ts
 * import { MessageType } from "@rpcx/core/protocol";
 * console.log(MessageType.Response); // 1
 * ```
 */
export const MessageType = { Request: 0, Response: 1 } as const;
/** A value of {@linkcode MessageType}. */
export type MessageType = typeof MessageType[keyof typeof MessageType];

/**
 * The status of a response (bits 1..0 of header byte 2).
 *
 * @example
 * ```ts
 * import { MessageStatusType } from "@rpcx/core/protocol";
 * console.log(MessageStatusType.Error); // 1
 * ```
 */
export const MessageStatusType = { Normal: 0, Error: 1 } as const;
/** A value of {@linkcode MessageStatusType}. */
export type MessageStatusType = typeof MessageStatusType[keyof typeof MessageStatusType];

/**
 * How the payload is compressed (bits 4..2 of header byte 2). Go rpcx knows None and Gzip.
 *
 * @example
 * ```ts
 * import { CompressType } from "@rpcx/core";
 * console.log(CompressType.Gzip); // 1
 * ```
 */
export const CompressType = { None: 0, Gzip: 1 } as const;
/** A value of {@linkcode CompressType}. */
export type CompressType = typeof CompressType[keyof typeof CompressType];

/**
 * How the payload is serialized (bits 7..4 of header byte 3).
 *
 * @example
 * ```ts
 * import { SerializeType } from "@rpcx/core";
 * console.log(SerializeType.MsgPack); // 3
 * ```
 */
export const SerializeType = {
  SerializeNone: 0,
  JSON: 1,
  ProtoBuffer: 2,
  MsgPack: 3,
  Thrift: 4,
} as const;
/** A serialize type id: one of {@linkcode SerializeType} or a custom id from 5 to 15. */
export type SerializeType = number;

/**
 * Metadata keys with a meaning to rpcx itself.
 *
 * @example
 * ```ts
 * import { MetadataKeys } from "@rpcx/core";
 * console.log(MetadataKeys.ServiceError); // "__rpcx_error__"
 * ```
 */
export const MetadataKeys = {
  /** On an error response: the error text. */
  ServiceError: "__rpcx_error__",
  /** The auth token a client sends. */
  Auth: "__AUTH",
  /** The client's remaining deadline in milliseconds, as a decimal string. */
  ServerTimeout: "__ServerTimeout",
  /**
   * Set by the client (never sent) in a call's reply metadata: the address of the server that
   * answered, as Go's `Conn.RemoteAddr().String()` gives it (`host:port`, a socket path for
   * unix). Go: `share.ServerAddress`.
   */
  ServerAddress: "__ServerAddress",
} as const;
