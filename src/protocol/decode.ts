/**
 * Decoding rpcx frames: the fixed header alone (what is known before the body is read) and one
 * complete frame, every length checked against the frame's end, as Go rpcx's `Message.Decode`.
 *
 * @module
 */
import {
  CompressType,
  MAGIC_NUMBER,
  type MessageStatusType,
  type MessageType,
} from "./constants.ts";
import { decompressPayload } from "./compression.ts";
import { InvalidMagicError, MalformedFrameError } from "./errors.ts";
import {
  type DecodeLimits,
  DEFAULT_DECODE_LIMITS,
  type FrameHeader,
  HEADER_LENGTH,
  type Message,
  type Metadata,
} from "./message.ts";
import { readUtf8 } from "./utf8.ts";

function getU32(buf: Uint8Array, off: number): number {
  return ((buf[off] << 24) | (buf[off + 1] << 16) | (buf[off + 2] << 8) | buf[off + 3]) >>> 0;
}

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
 * Reads the header of a frame starting at `off` (at least 16 bytes must be there; the magic
 * number is not checked).
 *
 * @example
 * ```ts
 * import { createMessage, encodeMessage, readFrameHeader } from "@rpcx/core/protocol";
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
