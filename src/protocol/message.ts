/**
 * The rpcx message: header fields, service path and method, metadata and payload; the limits a
 * decoder applies and the fixed header of a frame. Encoding is in `encode.ts`, decoding in
 * `decode.ts`.
 *
 * @module
 */
import { CompressType, MessageStatusType, MessageType, type SerializeType } from "./constants.ts";

/** The length of the fixed header: magic, version, two flag bytes, seq and total length. */
export const HEADER_LENGTH = 16;

/** String metadata carried by a message. */
export type Metadata = Record<string, string>;

/**
 * One rpcx message. `payload` holds the logical (uncompressed) bytes; `compressType` says how
 * they travel on the wire.
 *
 * @example
 * ```ts
 * import { SerializeType } from "@rpcx/core";
 * import { createMessage, encodeMessage } from "@rpcx/core/protocol";
 * const msg = createMessage({ servicePath: "Arith", serviceMethod: "Mul", seq: 1n,
 *   serializeType: SerializeType.JSON, payload: new TextEncoder().encode('{"A":1,"B":2}') });
 * console.log(encodeMessage(msg).byteLength);
 * ```
 */
export interface Message {
  /** Protocol version; Go writes 0. */
  version: number;
  /** Request or response. */
  messageType: MessageType;
  /** A heartbeat frame. */
  heartbeat: boolean;
  /** A request that wants no response. */
  oneway: boolean;
  /** How the payload is compressed on the wire. */
  compressType: CompressType;
  /** Normal or Error (responses). */
  status: MessageStatusType;
  /** How the payload is serialized. */
  serializeType: SerializeType;
  /** Sequence number (u64). */
  seq: bigint;
  /** Service name, e.g. `Arith`. */
  servicePath: string;
  /** Method name, e.g. `Mul`. */
  serviceMethod: string;
  /** String metadata. */
  metadata: Metadata;
  /** Uncompressed payload. */
  payload: Uint8Array;
}

const EMPTY = new Uint8Array(0);

/**
 * Creates a message with defaults for the fields not given (a plain request, seq 0).
 *
 * @example
 * ```ts
 * import { createMessage } from "@rpcx/core/protocol";
 * const ping = createMessage({ heartbeat: true, seq: 7n });
 * console.log(ping.heartbeat); // true
 * ```
 */
export function createMessage(fields: Partial<Message> = {}): Message {
  return {
    version: fields.version ?? 0,
    messageType: fields.messageType ?? MessageType.Request,
    heartbeat: fields.heartbeat ?? false,
    oneway: fields.oneway ?? false,
    compressType: fields.compressType ?? CompressType.None,
    status: fields.status ?? MessageStatusType.Normal,
    serializeType: fields.serializeType ?? 0,
    seq: fields.seq ?? 0n,
    servicePath: fields.servicePath ?? "",
    serviceMethod: fields.serviceMethod ?? "",
    metadata: fields.metadata ?? {},
    payload: fields.payload ?? EMPTY,
  };
}

/** Limits enforced while decoding. */
export interface DecodeLimits {
  /** Largest `total` (frame length minus the 16-byte header) accepted. */
  maxMessageLength: number;
  /** Largest payload accepted after decompression. */
  maxDecompressedLength: number;
  /** Gunzip used for gzip payloads (e.g. the native one); default node:zlib. */
  gunzip?: (data: Uint8Array, maxLength: number) => Uint8Array;
}

/**
 * Safe defaults: frames up to 16 MiB, decompressed payloads up to 64 MiB.
 * Go rpcx's defaults are unlimited; ours are finite.
 *
 * @example
 * ```ts
 * import { DEFAULT_DECODE_LIMITS } from "@rpcx/core/protocol";
 * console.log(DEFAULT_DECODE_LIMITS.maxMessageLength); // 16777216
 * ```
 */
export const DEFAULT_DECODE_LIMITS: Readonly<DecodeLimits> = Object.freeze({
  maxMessageLength: 16 * 1024 * 1024,
  maxDecompressedLength: 64 * 1024 * 1024,
});

/**
 * The fixed 16-byte header of a frame: what is known of a message before its body is read.
 *
 * @example
 * ```ts
 * import { createMessage, encodeMessage, readFrameHeader } from "@rpcx/core/protocol";
 * const h = readFrameHeader(encodeMessage(createMessage({ seq: 9n, oneway: true })), 0);
 * console.log(h.seq, h.oneway); // 9n true
 * ```
 */
export interface FrameHeader {
  /** Protocol version. */
  readonly version: number;
  /** Request or response. */
  readonly messageType: MessageType;
  /** A heartbeat frame. */
  readonly heartbeat: boolean;
  /** A request that wants no response. */
  readonly oneway: boolean;
  /** How the payload is compressed. */
  readonly compressType: number;
  /** Normal or Error. */
  readonly status: MessageStatusType;
  /** How the payload is serialized. */
  readonly serializeType: number;
  /** Sequence number. */
  readonly seq: bigint;
  /** Bytes after the header (the `total` field). */
  readonly total: number;
}
