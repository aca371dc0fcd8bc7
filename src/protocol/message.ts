/**
 * The rpcx message: header fields, service path and method, metadata and payload, with its
 * encoder to one frame and its decoder from one complete frame.
 *
 * @module
 */
import {
  CompressType,
  MAGIC_NUMBER,
  MessageStatusType,
  MessageType,
  type SerializeType,
} from "./constants.ts";
import { compressPayload, decompressPayload } from "./compression.ts";
import { InvalidMagicError, MalformedFrameError } from "./errors.ts";
import { readUtf8, utf8Length, writeUtf8 } from "./utf8.ts";

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

/**
 * A message measured for writing: its wire payload (compressed if needed) and sizes.
 * Produced by {@linkcode prepareMessage}, consumed by {@linkcode writeMessage}.
 */
export interface PreparedMessage {
  /** The message. */
  readonly message: Message;
  /** The payload as it goes on the wire. */
  readonly wirePayload: Uint8Array;
  /** Metadata as [key, value] pairs, in wire order. */
  readonly metadataPairs: readonly string[];
  /** Byte length of the metadata block's content. */
  readonly metadataLength: number;
  /** Byte length of the service path. */
  readonly pathLength: number;
  /** Byte length of the method. */
  readonly methodLength: number;
  /** Byte length of the whole frame. */
  readonly frameLength: number;
}

/**
 * Measures `msg` and compresses its payload, so it can be written into a buffer.
 *
 * @example
 * ```ts
 * import { createMessage, prepareMessage } from "@rpcx/core/protocol";
 * console.log(prepareMessage(createMessage()).frameLength); // 32
 * ```
 */
export function prepareMessage(msg: Message): PreparedMessage {
  const wirePayload = compressPayload(msg.payload, msg.compressType);
  const pairs: string[] = [];
  let metadataLength = 0;
  const meta = msg.metadata;
  for (const key in meta) {
    const value = meta[key];
    if (value === undefined) continue;
    const v = String(value);
    pairs.push(key, v);
    metadataLength += 8 + utf8Length(key) + utf8Length(v);
  }
  const pathLength = utf8Length(msg.servicePath);
  const methodLength = utf8Length(msg.serviceMethod);
  const frameLength = HEADER_LENGTH + 16 + pathLength + methodLength + metadataLength +
    wirePayload.byteLength;
  return {
    message: msg,
    wirePayload,
    metadataPairs: pairs,
    metadataLength,
    pathLength,
    methodLength,
    frameLength,
  };
}

function putU32(buf: Uint8Array, off: number, v: number): void {
  buf[off] = v >>> 24;
  buf[off + 1] = (v >>> 16) & 0xff;
  buf[off + 2] = (v >>> 8) & 0xff;
  buf[off + 3] = v & 0xff;
}

function getU32(buf: Uint8Array, off: number): number {
  return ((buf[off] << 24) | (buf[off + 1] << 16) | (buf[off + 2] << 8) | buf[off + 3]) >>> 0;
}

/** Header byte 2 of a message: type, heartbeat, oneway, compress type and status. */
export function flagsByte(msg: Message): number {
  return (msg.messageType << 7) | (msg.heartbeat ? 0x40 : 0) | (msg.oneway ? 0x20 : 0) |
    ((msg.compressType & 0x07) << 2) | (msg.status & 0x03);
}

/**
 * Writes a prepared message into `buf` at `offset`; returns the offset after it.
 * `buf` must have `prepared.frameLength` bytes free there.
 *
 * @example
 * ```ts
 * import { createMessage, prepareMessage, writeMessage } from "@rpcx/core/protocol";
 * const p = prepareMessage(createMessage({ servicePath: "A" }));
 * const buf = new Uint8Array(p.frameLength);
 * console.log(writeMessage(p, buf, 0) === buf.byteLength); // true
 * ```
 */
export function writeMessage(prepared: PreparedMessage, buf: Uint8Array, offset: number): number {
  const msg = prepared.message;
  let o = offset;
  buf[o] = MAGIC_NUMBER;
  buf[o + 1] = msg.version & 0xff;
  buf[o + 2] = flagsByte(msg);
  buf[o + 3] = (msg.serializeType & 0x0f) << 4;
  const seq = msg.seq;
  if (seq <= 0xffffffffn) {
    putU32(buf, o + 4, 0);
    putU32(buf, o + 8, Number(seq));
  } else {
    putU32(buf, o + 4, Number((seq >> 32n) & 0xffffffffn));
    putU32(buf, o + 8, Number(seq & 0xffffffffn));
  }
  putU32(buf, o + 12, prepared.frameLength - HEADER_LENGTH);
  o += HEADER_LENGTH;
  putU32(buf, o, prepared.pathLength);
  o += 4;
  o += writeUtf8(msg.servicePath, buf, o);
  putU32(buf, o, prepared.methodLength);
  o += 4;
  o += writeUtf8(msg.serviceMethod, buf, o);
  putU32(buf, o, prepared.metadataLength);
  o += 4;
  const pairs = prepared.metadataPairs;
  for (let i = 0; i < pairs.length; i++) {
    const s = pairs[i];
    const n = writeUtf8(s, buf, o + 4);
    putU32(buf, o, n);
    o += 4 + n;
  }
  const payload = prepared.wirePayload;
  putU32(buf, o, payload.byteLength);
  o += 4;
  buf.set(payload, o);
  return o + payload.byteLength;
}

/**
 * Encodes a message into one frame.
 *
 * @example
 * ```ts
 * import { createMessage, encodeMessage } from "@rpcx/core/protocol";
 * const frame = encodeMessage(createMessage({ heartbeat: true, seq: 7n }));
 * console.log(frame[0]); // 8
 * ```
 */
export function encodeMessage(msg: Message): Uint8Array {
  const prepared = prepareMessage(msg);
  const buf = new Uint8Array(prepared.frameLength);
  writeMessage(prepared, buf, 0);
  return buf;
}

/**
 * Encodes several messages into one buffer, back to back (one socket write).
 *
 * @example
 * ```ts
 * import { createMessage, encodeMessages } from "@rpcx/core/protocol";
 * const buf = encodeMessages([createMessage({ seq: 1n }), createMessage({ seq: 2n })]);
 * console.log(buf.byteLength); // 64
 * ```
 */
export function encodeMessages(msgs: readonly Message[]): Uint8Array {
  const prepared = new Array<PreparedMessage>(msgs.length);
  let total = 0;
  for (let i = 0; i < msgs.length; i++) {
    const p = prepareMessage(msgs[i]);
    prepared[i] = p;
    total += p.frameLength;
  }
  const buf = new Uint8Array(total);
  let o = 0;
  for (let i = 0; i < prepared.length; i++) o = writeMessage(prepared[i], buf, o);
  return buf;
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

/** The length of the field at `o` (its 4-byte prefix), checked against the frame's `end`. */
function fieldLength(buf: Uint8Array, o: number, end: number, name: string): number {
  if (o + 4 > end) throw new MalformedFrameError(`${name} length is cut off`);
  const n = getU32(buf, o);
  if (n > end - o - 4) {
    throw new MalformedFrameError(`${name} length ${n} points past the end of the frame`);
  }
  return n;
}

/** Reads the seq of a header starting at `off`. */
function readSeq(buf: Uint8Array, off: number): bigint {
  const hi = getU32(buf, off);
  const lo = getU32(buf, off + 4);
  return hi === 0 ? BigInt(lo) : (BigInt(hi) << 32n) | BigInt(lo);
}

/** Reads the `total` field of a header that starts at `off`. */
export function readFrameTotal(buf: Uint8Array, off: number): number {
  return getU32(buf, off + 12);
}

/**
 * The fixed 16-byte header of a frame: what is known of a message before its body is read.
 *
 * @example
 * ```ts
 * import { createMessage, encodeMessage, readFrameHeader } from "@rpcx/core";
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

/**
 * Reads the header of a frame starting at `off` (at least 16 bytes must be there; the magic
 * number is not checked).
 *
 * @example
 * ```ts
 * import { createMessage, encodeMessage, readFrameHeader } from "@rpcx/core";
 * console.log(readFrameHeader(encodeMessage(createMessage({ seq: 3n })), 0).seq); // 3n
 * ```
 */
export function readFrameHeader(buf: Uint8Array, off: number): FrameHeader {
  const flags = buf[off + 2];
  return {
    version: buf[off + 1],
    messageType: (flags >>> 7) as MessageType,
    heartbeat: (flags & 0x40) !== 0,
    oneway: (flags & 0x20) !== 0,
    compressType: (flags >>> 2) & 0x07,
    status: (flags & 0x03) as MessageStatusType,
    serializeType: buf[off + 3] >>> 4,
    seq: readSeq(buf, off + 4),
    total: getU32(buf, off + 12),
  };
}

/**
 * Decodes one complete frame `buf[start, start + 16 + total)`. The payload is a view into
 * `buf` unless it had to be decompressed.
 *
 * @example
 * ```ts
 * import { createMessage, decodeFrame, encodeMessage } from "@rpcx/core/protocol";
 * const frame = encodeMessage(createMessage({ servicePath: "Arith", seq: 3n }));
 * console.log(decodeFrame(frame).servicePath); // "Arith"
 * ```
 */
export function decodeFrame(
  buf: Uint8Array,
  start = 0,
  limits: DecodeLimits = DEFAULT_DECODE_LIMITS,
): Message {
  if (buf.byteLength - start < HEADER_LENGTH) {
    throw new MalformedFrameError(`frame shorter than the ${HEADER_LENGTH}-byte header`);
  }
  if (buf[start] !== MAGIC_NUMBER) throw new InvalidMagicError(buf[start]);
  const total = getU32(buf, start + 12);
  const end = start + HEADER_LENGTH + total;
  if (end > buf.byteLength) {
    throw new MalformedFrameError(`frame announces ${total} bytes but has fewer`);
  }
  const flags = buf[start + 2];
  const compressType = (flags >>> 2) & 0x07;
  if (compressType > CompressType.Gzip) {
    throw new MalformedFrameError(`unknown compress type ${compressType}`);
  }
  // Each length-prefixed field: its length checked against the frame's end (no closure per
  // frame: this runs for every message read).
  let o = start + HEADER_LENGTH;
  let n = fieldLength(buf, o, end, "service path");
  o += 4;
  const servicePath = readUtf8(buf, o, o + n);
  o += n;
  n = fieldLength(buf, o, end, "service method");
  o += 4;
  const serviceMethod = readUtf8(buf, o, o + n);
  o += n;
  n = fieldLength(buf, o, end, "metadata");
  o += 4;
  const metadata: Metadata = {};
  if (n > 0) {
    const metaEnd = o + n;
    while (o < metaEnd) {
      if (o + 4 > metaEnd) throw new MalformedFrameError("metadata key length is cut off");
      const kl = getU32(buf, o);
      o += 4;
      if (kl > metaEnd - o) throw new MalformedFrameError("metadata key points past its block");
      const key = readUtf8(buf, o, o + kl);
      o += kl;
      if (o + 4 > metaEnd) {
        throw new MalformedFrameError(`metadata key ${JSON.stringify(key)} has no value`);
      }
      const vl = getU32(buf, o);
      o += 4;
      if (vl > metaEnd - o) throw new MalformedFrameError("metadata value points past its block");
      const value = readUtf8(buf, o, o + vl);
      o += vl;
      if (key === "__proto__") {
        Object.defineProperty(metadata, key, {
          value,
          enumerable: true,
          writable: true,
          configurable: true,
        });
      } else {
        metadata[key] = value;
      }
    }
  }
  n = fieldLength(buf, o, end, "payload");
  o += 4;
  if (o + n !== end) {
    throw new MalformedFrameError(
      `payload length ${n} does not match the ${end - o} bytes left in the frame`,
    );
  }
  let payload = buf.subarray(o, end);
  if (compressType === CompressType.Gzip && limits.gunzip && payload.byteLength > 0) {
    payload = limits.gunzip(payload, limits.maxDecompressedLength);
  } else if (compressType !== CompressType.None) {
    payload = decompressPayload(
      payload,
      compressType as CompressType,
      limits.maxDecompressedLength,
    );
  } else if (payload.byteLength > limits.maxDecompressedLength) {
    throw new MalformedFrameError(
      `payload of ${payload.byteLength} bytes exceeds the limit of ${limits.maxDecompressedLength}`,
    );
  }
  return {
    version: buf[start + 1],
    messageType: (flags >>> 7) as MessageType,
    heartbeat: (flags & 0x40) !== 0,
    oneway: (flags & 0x20) !== 0,
    compressType: compressType as CompressType,
    status: (flags & 0x03) as MessageStatusType,
    serializeType: buf[start + 3] >>> 4,
    seq: readSeq(buf, start + 4),
    servicePath,
    serviceMethod,
    metadata,
    payload,
  };
}
