/**
 * Encoding rpcx messages into frames, one or several back to back into one buffer (one socket
 * write), as Go rpcx's `Message.Encode`.
 *
 * @module
 */
import { CompressType, MAGIC_NUMBER } from "./constants.ts";
import { compressPayload } from "./compression.ts";
import { HEADER_LENGTH, type Message } from "./message.ts";
import { utf8Length, writeUtf8 } from "./utf8.ts";

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
 * Where an encoder takes the buffer of a batch: `length` bytes, exactly. A connection passes
 * one that lends a pooled write buffer (given back once the socket has taken the bytes); the
 * default makes a new one.
 */
export type BatchAlloc = (length: number) => Uint8Array;

const newBuffer: BatchAlloc = (length) => new Uint8Array(length);

/**
 * Encodes several messages into one buffer, back to back (one socket write); the buffer comes
 * from `alloc` (default: a new one).
 *
 * @example
 * ```ts
 * import { createMessage, encodeMessages } from "@rpcx/core/protocol";
 * const buf = encodeMessages([createMessage({ seq: 1n }), createMessage({ seq: 2n })]);
 * console.log(buf.byteLength); // 64
 * ```
 */
export function encodeMessages(
  msgs: readonly Message[],
  alloc: BatchAlloc = newBuffer,
): Uint8Array {
  const prepared = new Array<PreparedMessage>(msgs.length);
  let total = 0;
  for (let i = 0; i < msgs.length; i++) {
    const p = prepareMessage(msgs[i]);
    prepared[i] = p;
    total += p.frameLength;
  }
  const buf = alloc(total);
  let o = 0;
  for (let i = 0; i < prepared.length; i++) o = writeMessage(prepared[i], buf, o);
  return buf;
}

/**
 * The length `msg` would have on the wire (the frame's length after its 12-byte header, as a
 * reader checks it against its `maxMessageLength`) when that is over `limit` bytes; 0 when it
 * fits. Cheap for a message well under the limit (an upper bound is summed first); only one near
 * the limit is encoded (compressed) to measure it exactly. Internal (not exported by mod.ts).
 *
 * @example
 * ```ts
 * import { createMessage } from "@rpcx/core/protocol";
 * import { messageLengthOver } from "./encode.ts";
 * const msg = createMessage({ payload: new Uint8Array(2048) });
 * console.log(messageLengthOver(msg, 1024) > 1024); // true
 * ```
 */
export function messageLengthOver(msg: Message, limit: number): number {
  // UTF-8 takes at most 3 bytes per UTF-16 unit; gzip may grow incompressible data slightly.
  let bound = msg.payload.byteLength + 3 * (msg.servicePath.length + msg.serviceMethod.length) +
    16;
  if (msg.compressType !== CompressType.None) bound += (msg.payload.byteLength >>> 9) + 64;
  const meta = msg.metadata;
  for (const k in meta) bound += 8 + 3 * (k.length + String(meta[k] ?? "").length);
  if (bound <= limit) return 0;
  const length = prepareMessage(msg).frameLength - HEADER_LENGTH;
  return length > limit ? length : 0;
}
