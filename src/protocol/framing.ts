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
import type { ProtocolError } from "./errors.ts";
import {
  type DecodeLimits,
  DEFAULT_DECODE_LIMITS,
  type FrameHeader,
  HEADER_LENGTH,
  type Message,
} from "./message.ts";
import { decodeFrame, readFrameHeader, readFrameTotal } from "./decode.ts";

/** The smallest `total` a well-formed frame can have: four empty length-prefixed fields. */
const MIN_TOTAL = 16;

/**
 * Options of a {@linkcode FrameDecoder}.
 *
 * @example
 * ```ts
 * import { FrameDecoder, type FrameDecoderOptions } from "@rpcx/core/protocol";
 * const options: FrameDecoderOptions = {
 *   maxMessageLength: 1024,
 *   onFrameError: (e, h) => console.log(`seq ${h.seq}: ${e.message}`),
 * };
 * new FrameDecoder(options);
 * ```
 */
export interface FrameDecoderOptions extends Partial<DecodeLimits> {
  /**
   * Called for a frame that is framed correctly but cannot be taken: longer than
   * `maxMessageLength` (its bytes are then skipped as they arrive, never held), or whose body does
   * not decode (bad lengths inside, payload that does not decompress or decompresses past
   * `maxDecompressedLength`). The stream stays usable: the next frame is decoded as usual. Without
   * it, such a frame fails the stream (`push` throws). A bad magic number always fails the stream.
   */
  onFrameError?(error: ProtocolError, header: FrameHeader): void;
}

/**
 * Receives the frames a {@linkcode FrameDecoder} refuses without failing the stream.
 *
 * @example
 * ```ts
 * import { FrameDecoder, type FrameErrorSink } from "@rpcx/core/protocol";
 * const sink: FrameErrorSink = { onFrameError: (e, h) => console.log(h.seq, e.message) };
 * new FrameDecoder({ maxMessageLength: 1024 }, sink);
 * ```
 */
export interface FrameErrorSink {
  /** See {@linkcode FrameDecoderOptions.onFrameError}. */
  onFrameError(error: ProtocolError, header: FrameHeader): void;
}

/** Shared empty list (never pushed to: replaced before use). */
const NONE: Uint8Array[] = [];

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
  readonly #sink: FrameErrorSink | undefined;
  #pending: Uint8Array[] = NONE;
  /** Bytes of a refused frame still to be skipped. */
  #skip = 0;
  #pendingBytes = 0;
  /** Frame length of the pending frame, once its header is known; -1 before. */
  #needed = -1;
  #failed = false;

  /**
   * Creates a decoder enforcing the limits of `options` (defaults:
   * {@linkcode DEFAULT_DECODE_LIMITS}). Refused frames go to `sink` when given, else to
   * `options.onFrameError`.
   */
  constructor(options: FrameDecoderOptions = {}, sink?: FrameErrorSink) {
    // Complete limits are used as given (shared by many decoders, never written).
    this.#limits = options.maxMessageLength !== undefined &&
        options.maxDecompressedLength !== undefined
      ? options as DecodeLimits
      : { ...DEFAULT_DECODE_LIMITS, ...options };
    this.#sink = sink ?? (options.onFrameError ? options as FrameErrorSink : undefined);
  }

  /** Bytes received but not yet part of a complete frame. */
  get bufferedBytes(): number {
    return this.#pendingBytes;
  }

  /**
   * Bytes still needed to complete the frame in progress (0 between frames; the header's 16
   * bytes while only part of a header has arrived).
   */
  get wantedBytes(): number {
    if (this.#skip > 0) return this.#skip;
    if (this.#pendingBytes === 0) return 0;
    return (this.#needed < 0 ? HEADER_LENGTH : this.#needed) - this.#pendingBytes;
  }

  /**
   * Checks a header; returns the frame length, or -1 when the frame is refused and is to be
   * skipped (only with `onFrameError`).
   */
  #checkHeader(buf: Uint8Array, off: number): number {
    if (buf[off] !== MAGIC_NUMBER) throw new InvalidMagicError(buf[off]);
    const total = readFrameTotal(buf, off);
    let error: ProtocolError | undefined;
    if (total > this.#limits.maxMessageLength) {
      error = new FrameTooLargeError(total, this.#limits.maxMessageLength);
    } else if (total < MIN_TOTAL) {
      error = new MalformedFrameError(
        `frame length ${total} is shorter than its four length fields`,
      );
    }
    if (!error) return HEADER_LENGTH + total;
    if (!this.#sink) throw error;
    this.#sink.onFrameError(error, readFrameHeader(buf, off));
    return -1;
  }

  /** Decodes a whole frame; a body that does not decode is reported when `onFrameError` is set. */
  #decode(frame: Uint8Array, out: Message[]): void {
    if (!this.#sink) {
      out.push(decodeFrame(frame, 0, this.#limits));
      return;
    }
    let msg: Message;
    try {
      msg = decodeFrame(frame, 0, this.#limits);
    } catch (e) {
      this.#sink.onFrameError(e as ProtocolError, readFrameHeader(frame, 0));
      return;
    }
    out.push(msg);
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
      this.#pending = NONE;
      this.#pendingBytes = 0;
      throw e;
    }
  }

  #push(chunk: Uint8Array): Message[] {
    const out: Message[] = [];
    let off = 0;
    if (this.#skip > 0) {
      off = Math.min(this.#skip, chunk.byteLength);
      this.#skip -= off;
      if (this.#skip > 0) return out;
    }
    if (this.#pendingBytes > 0) {
      // Finish the frame in progress.
      if (this.#needed < 0) {
        const want = HEADER_LENGTH - this.#pendingBytes;
        const take = Math.min(want, chunk.byteLength - off);
        this.#pending.push(chunk.subarray(off, off + take));
        this.#pendingBytes += take;
        off += take;
        if (this.#pendingBytes < HEADER_LENGTH) {
          if (this.#pending[0][0] !== MAGIC_NUMBER) {
            throw new InvalidMagicError(this.#pending[0][0]);
          }
          return out;
        }
        const header = concat(this.#pending, HEADER_LENGTH);
        const frameLength = this.#checkHeader(header, 0);
        if (frameLength < 0) {
          this.#pending = NONE;
          this.#pendingBytes = 0;
          return this.#skipFrom(chunk, off, readFrameTotal(header, 0), out);
        }
        this.#pending = [header];
        this.#needed = frameLength;
      }
      const want = this.#needed - this.#pendingBytes;
      const take = Math.min(want, chunk.byteLength - off);
      this.#pending.push(chunk.subarray(off, off + take));
      this.#pendingBytes += take;
      off += take;
      if (this.#pendingBytes < this.#needed) return out;
      const frame = concat(this.#pending, this.#needed);
      this.#pending = NONE;
      this.#pendingBytes = 0;
      this.#needed = -1;
      this.#decode(frame, out);
    }
    return this.#scan(chunk, off, out);
  }

  /** Skips `total` body bytes of a refused frame starting at `off`, then goes on scanning. */
  #skipFrom(chunk: Uint8Array, off: number, total: number, out: Message[]): Message[] {
    const take = Math.min(total, chunk.byteLength - off);
    this.#skip = total - take;
    return this.#skip > 0 ? out : this.#scan(chunk, off + take, out);
  }

  /** Decodes the frames that start at `off` (no frame in progress). */
  #scan(chunk: Uint8Array, off: number, out: Message[]): Message[] {
    const len = chunk.byteLength;
    while (off < len) {
      const left = len - off;
      if (left < HEADER_LENGTH) {
        if (chunk[off] !== MAGIC_NUMBER) throw new InvalidMagicError(chunk[off]);
        // A view of a small buffer; a copy out of a large one, so a few bytes keep no large
        // buffer alive.
        this.#pending = [chunk.buffer.byteLength > 1024 ? chunk.slice(off) : chunk.subarray(off)];
        this.#pendingBytes = left;
        return out;
      }
      const frameLength = this.#checkHeader(chunk, off);
      if (frameLength < 0) {
        return this.#skipFrom(chunk, off + HEADER_LENGTH, readFrameTotal(chunk, off), out);
      }
      if (frameLength > left) {
        this.#pending = [chunk.subarray(off)];
        this.#pendingBytes = left;
        this.#needed = frameLength;
        return out;
      }
      this.#decode(chunk.subarray(off, off + frameLength), out);
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
      this.#pending = NONE;
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
