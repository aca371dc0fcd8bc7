/**
 * Wire-level helpers of the rpcx protocol: message encoding and decoding, stream framing,
 * payload compression, the framed connection, and the names of rpcx's HTTP side (HTTP invoke's
 * `X-RPCX-*` headers, JSON-RPC 2.0's header and error codes); the wire codec's loader is
 * `@rpcx/core/native`. A Server or Client user does not need these; they are for tools, proxies,
 * tests and benchmarks that read or write rpcx frames themselves. Mirrors Go rpcx's `protocol`
 * package.
 *
 * @example
 * ```ts
 * import { createMessage, decodeFrame, encodeMessage } from "@rpcx/core/protocol";
 *
 * const bytes = encodeMessage(createMessage({ servicePath: "Arith", serviceMethod: "Mul", seq: 1n }));
 * console.log(decodeFrame(bytes).serviceMethod); // "Mul"
 * ```
 *
 * @module
 */
export {
  CompressType,
  MAGIC_NUMBER,
  MessageStatusType,
  MessageType,
  MetadataKeys,
  SerializeType,
} from "./constants.ts";
export {
  DecompressionError,
  FrameTooLargeError,
  InvalidMagicError,
  MalformedFrameError,
  ProtocolError,
  RpcxError,
  TruncatedFrameError,
} from "./errors.ts";
export {
  createMessage,
  type DecodeLimits,
  DEFAULT_DECODE_LIMITS,
  type FrameHeader,
  HEADER_LENGTH,
  type Message,
  type Metadata,
} from "./message.ts";
export {
  type BatchAlloc,
  encodeMessage,
  encodeMessages,
  flagsByte,
  type PreparedMessage,
  prepareMessage,
  writeMessage,
} from "./encode.ts";
export { decodeFrame, readFrameHeader, readFrameTotal } from "./decode.ts";
export { FrameDecoder, type FrameDecoderOptions, type FrameErrorSink } from "./framing.ts";
export { compressPayload, decompressPayload } from "./compression.ts";
export type { ByteStream } from "../transport/byte_stream.ts";
export { FramedConnection } from "../transport/framed.ts";
export type {
  FramedConnectionHandlers,
  FramedConnectionOptions,
} from "../transport/framed_options.ts";
export { joinHostPort, splitHostPort } from "../transport/address.ts";
// rpcx's HTTP side on the rpcx port: HTTP invoke's headers (Go's gateway) and JSON-RPC 2.0's.
export { RpcxHttpHeaders } from "../http/gateway.ts";
export { JSONRPC_HEADER, JsonRpcErrorCode } from "../http/jsonrpc.ts";
