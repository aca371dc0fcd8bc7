/**
 * Internal to the client: a call's request message (serializer, compression, metadata) and the
 * length check that refuses a request the peer would drop the connection for.
 *
 * @module
 */
import type { Codec } from "../codec/codec.ts";
import { encodePayload } from "../codec/_pooled.ts";
import {
  CompressType,
  MessageStatusType,
  MessageType,
  MetadataKeys,
  SerializeType,
} from "../protocol/constants.ts";
import { DEFAULT_DECODE_LIMITS, type Message, type Metadata } from "../protocol/message.ts";
import { messageLengthOver } from "../protocol/encode.ts";
import { FrameTooLargeError } from "../protocol/errors.ts";
import type { CallOptions, ClientOptions } from "./options.ts";

/**
 * The request of a call: `args` encoded by `codec` (the call's serializer, else the client's,
 * else MsgPack), compressed and with metadata as `client` says (seq assigned on sending).
 */
export function requestMessage(
  client: ClientOptions,
  codec: Codec,
  servicePath: string,
  serviceMethod: string,
  args: unknown,
  options: CallOptions,
  oneway: boolean,
): Message {
  // Lent from the write buffers when large: given back once the connection framed it.
  const payload = encodePayload(codec, args);
  return {
    version: 0,
    messageType: MessageType.Request,
    heartbeat: false,
    oneway,
    compressType: compressTypeFor(client, payload, options),
    status: MessageStatusType.Normal,
    serializeType: options.serializeType ?? client.serializeType ?? SerializeType.MsgPack,
    seq: 0n,
    servicePath,
    serviceMethod,
    metadata: requestMetadata(client, options),
    payload,
  };
}

/** As Go's client: compress only payloads over 1024 bytes. */
function compressTypeFor(
  client: ClientOptions,
  payload: Uint8Array,
  options: CallOptions,
): CompressType {
  const type = options.compressType ?? client.compressType ?? CompressType.None;
  return payload.byteLength > 1024 ? type : CompressType.None;
}

function requestMetadata(client: ClientOptions, options: CallOptions): Metadata {
  const meta: Metadata = options.metadata === undefined ? {} : { ...options.metadata };
  const auth = client.auth;
  if (auth !== undefined && meta[MetadataKeys.Auth] === undefined) {
    meta[MetadataKeys.Auth] = auth;
  }
  const timeout = options.timeout ?? client.timeout;
  if (timeout !== undefined && timeout > 0) {
    meta[MetadataKeys.ServerTimeout] = String(Math.ceil(timeout));
  }
  return meta;
}

/**
 * Refuses a request longer than `maxMessageLength` before it is written: a peer with the
 * same limit would drop the whole connection, failing every other call on it.
 *
 * @throws {FrameTooLargeError} when `req` is longer than the client's `maxMessageLength`.
 */
export function checkLength(client: ClientOptions, req: Message): void {
  const limit = client.maxMessageLength ?? DEFAULT_DECODE_LIMITS.maxMessageLength;
  const length = messageLengthOver(req, limit);
  if (length > 0) throw new FrameTooLargeError(length, limit);
}
