/**
 * Streaming frame decoder: turns TCP chunks split anywhere into complete messages.
 *
 * @module
 */
import { MAGIC_NUMBER } from "./constants.ts";
import {
  FrameTooLargeError,
  InvalidMagicError,
  MalformedFrameError,
  TruncatedFrameError,
} from "./errors.ts";
import {
  decodeFrame,
  type DecodeLimits,
  DEFAULT_DECODE_LIMITS,
  HEADER_LENGTH,
  type Message,
  readFrameTotal,
} from "./message.ts";

/** The smallest `total` a well-formed frame can have: four empty length-prefixed fields. */
const MIN_TOTAL = 16;

/**
 * Decodes a byte stream into messages. Feed it chunks as they arrive with
 * {@linkcode FrameDecoder.push}; it returns every message completed by the chunk.
 * Frames that lie whole in a chunk are decoded in place (the payload is a view of the chunk,
 * so do not reuse chunk buffers); a frame split across chunks is copied once.
 *
 * Bytes are held only as they arrive, so a header that announces a large frame costs nothing
 * until the bytes are really sent, and never more than the limit.
 *
 * @example
 * ```ts
 * import { createMessage, encodeMessage, FrameDecoder } from "@rpcx/core/protocol";
 * const bytes = encodeMessage(createMessage({ servicePath: "Arith", seq: 1n }));
 * const decoder = new FrameDecoder();
 * console.log(decoder.push(bytes.subarray(0, 10)).length); // 0
 * console.log(decoder.push(bytes.subarray(10))[0].servicePath); // "Arith"
 * ```
 */
export class FrameDecoder {
  readonly #limits: DecodeLimits;
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  /** Frame length of the pending frame, once its header is known; -1 before. */
  #needed = -1;
  #failed = false;

  /** Creates a decoder enforcing `limits` (defaults: {@linkcode DEFAULT_DECODE_LIMITS}). */
  constructor(limits: Partial<DecodeLimits> = {}) {
    this.#limits = { ...DEFAULT_DECODE_LIMITS, ...limits };
  }

  /** Bytes received but not yet part of a complete frame. */
  get bufferedBytes(): number {
    return this.#pendingBytes;
  }

  #checkHeader(buf: Uint8Array, off: number): number {
    if (buf[off] !== MAGIC_NUMBER) throw new InvalidMagicError(buf[off]);
    const total = readFrameTotal(buf, off);
    if (total > this.#limits.maxMessageLength) {
      throw new FrameTooLargeError(total, this.#limits.maxMessageLength);
    }
    if (total < MIN_TOTAL) {
      throw new MalformedFrameError(`frame length ${total} is shorter than its four length fields`);
    }
    return HEADER_LENGTH + total;
  }

  /**
   * Adds a chunk; returns the messages it completes. Throws a
   * {@linkcode ProtocolError} subclass on malformed input, after which the decoder
   * refuses further input (close the connection).
   */
  push(chunk: Uint8Array): Message[] {
    if (this.#failed) throw new MalformedFrameError("decoder already failed on this stream");
    try {
      return this.#push(chunk);
    } catch (e) {
      this.#failed = true;
      this.#pending = [];
      this.#pendingBytes = 0;
      throw e;
    }
  }

  #push(chunk: Uint8Array): Message[] {
    const out: Message[] = [];
    let off = 0;
    if (this.#pendingBytes > 0) {
      // Finish the frame in progress.
      if (this.#needed < 0) {
        const want = HEADER_LENGTH - this.#pendingBytes;
        const take = Math.min(want, chunk.byteLength);
        this.#pending.push(chunk.subarray(0, take));
        this.#pendingBytes += take;
        off = take;
        if (this.#pendingBytes < HEADER_LENGTH) {
          if (this.#pending[0][0] !== MAGIC_NUMBER) {
            throw new InvalidMagicError(this.#pending[0][0]);
          }
          return out;
        }
        const header = concat(this.#pending, HEADER_LENGTH);
        this.#pending = [header];
        this.#needed = this.#checkHeader(header, 0);
      }
      const want = this.#needed - this.#pendingBytes;
      const take = Math.min(want, chunk.byteLength - off);
      this.#pending.push(chunk.subarray(off, off + take));
      this.#pendingBytes += take;
      off += take;
      if (this.#pendingBytes < this.#needed) return out;
      const frame = concat(this.#pending, this.#needed);
      this.#pending = [];
      this.#pendingBytes = 0;
      this.#needed = -1;
      out.push(decodeFrame(frame, 0, this.#limits));
    }
    const len = chunk.byteLength;
    while (off < len) {
      const left = len - off;
      if (left < HEADER_LENGTH) {
        if (chunk[off] !== MAGIC_NUMBER) throw new InvalidMagicError(chunk[off]);
        // Copy: the caller may reuse the chunk's memory for small tails.
        this.#pending = [chunk.slice(off)];
        this.#pendingBytes = left;
        return out;
      }
      const frameLength = this.#checkHeader(chunk, off);
      if (frameLength > left) {
        this.#pending = [chunk.subarray(off)];
        this.#pendingBytes = left;
        this.#needed = frameLength;
        return out;
      }
      out.push(decodeFrame(chunk.subarray(off, off + frameLength), 0, this.#limits));
      off += frameLength;
    }
    return out;
  }

  /**
   * Call when the stream ends: throws {@linkcode TruncatedFrameError} when a frame was cut.
   */
  end(): void {
    if (this.#pendingBytes > 0 && !this.#failed) {
      const n = this.#pendingBytes;
      this.#failed = true;
      this.#pending = [];
      this.#pendingBytes = 0;
      throw new TruncatedFrameError(n);
    }
  }
}

function concat(parts: Uint8Array[], length: number): Uint8Array {
  if (parts.length === 1 && parts[0].byteLength === length) return parts[0];
  const out = new Uint8Array(length);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.byteLength;
  }
  return out;
}
