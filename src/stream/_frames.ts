/**
 * The framing of typed message streams (beyond Go; documented in the README so a Go program can
 * speak it): every frame is a big-endian uint32 header and a payload.
 *
 * - Header bit 31 clear: a message; the low 31 bits are its payload's length, the payload the
 *   message encoded with the stream's codec (the serialize type of the `Stream` call; MsgPack
 *   by default).
 * - Header exactly `0x80000000`: the end of this direction's messages; nothing follows it that
 *   way. Each side closes the connection once both directions ended (no half-close: it is not
 *   portable). A connection that ends without it was cut, not ended.
 * - Header bit 31 set and a non-zero length: an error; the payload is its UTF-8 text (at most
 *   64 KiB); its sender then closes the connection.
 *
 * @module
 */
import type { Codec } from "../codec/codec.ts";
import type { Conn } from "./_conn.ts";
import {
  DataConnectionError,
  MessageFrameError,
  MessageTooLargeError,
  RemoteStreamError,
} from "./errors.ts";

/** Header bit of an error frame. */
const ERROR_BIT = 0x8000_0000;
/** Largest payload a header can announce. */
export const MAX_FRAME = 0x7fff_ffff;

/** A message frame: header and payload. MessageTooLargeError over `limit` bytes. */
export function messageFrame(codec: Codec, message: unknown, limit: number): Uint8Array {
  const payload = codec.encode(message);
  if (payload.byteLength > limit) throw new MessageTooLargeError(payload.byteLength, limit);
  const out = new Uint8Array(4 + payload.byteLength);
  new DataView(out.buffer).setUint32(0, payload.byteLength);
  out.set(payload, 4);
  return out;
}

/** The end frame: no more messages this way. */
export const END_FRAME: Uint8Array = Uint8Array.of(0x80, 0, 0, 0);

/** An error frame carrying `text` (cut to 64 KiB; never empty, which would be the end frame). */
export function errorFrame(text: string): Uint8Array {
  const body = new TextEncoder().encode(text || "error").subarray(0, 64 * 1024);
  const out = new Uint8Array(4 + body.byteLength);
  new DataView(out.buffer).setUint32(0, (ERROR_BIT | body.byteLength) >>> 0);
  out.set(body, 4);
  return out;
}

/** Reads frames from a connection through one growing buffer (many frames per read). */
export class FrameReader {
  readonly #conn: Conn;
  readonly #limit: number;
  #buf = new Uint8Array(64 * 1024);
  #start = 0;
  #end = 0;
  #ended = false;

  /** Reads `conn`; payloads over `limit` bytes fail with MessageTooLargeError. */
  constructor(conn: Conn, limit: number) {
    this.#conn = conn;
    this.#limit = limit;
  }

  /** Ensures `n` buffered bytes; false when the connection ends first. */
  async #fill(n: number): Promise<boolean> {
    while (this.#end - this.#start < n) {
      if (this.#buf.byteLength - this.#start < n) {
        if (n > this.#buf.byteLength) {
          const next = new Uint8Array(Math.max(n, 2 * this.#buf.byteLength));
          next.set(this.#buf.subarray(this.#start, this.#end));
          this.#buf = next;
        } else {
          this.#buf.copyWithin(0, this.#start, this.#end);
        }
        this.#end -= this.#start;
        this.#start = 0;
      }
      const got = await this.#conn.read(this.#buf.subarray(this.#end));
      if (got === null) return false;
      this.#end += got;
    }
    return true;
  }

  /**
   * The next message's payload (a copy), or null once the peer sent its end frame. Throws
   * RemoteStreamError for an error frame, MessageTooLargeError, MessageFrameError when the
   * connection ends inside a frame, DataConnectionError when it ends without the end frame.
   */
  async next(): Promise<Uint8Array | null> {
    if (this.#ended) return null;
    if (!(await this.#fill(4))) {
      if (this.#end === this.#start) {
        throw new DataConnectionError("rpcx: the peer closed the message stream without ending it");
      }
      throw new MessageFrameError("rpcx: message stream cut inside a frame header");
    }
    const head = new DataView(this.#buf.buffer, this.#start, 4).getUint32(0);
    const isControl = (head & ERROR_BIT) !== 0;
    const size = head & MAX_FRAME;
    if (isControl && size === 0) {
      this.#ended = true;
      this.#start += 4;
      return null;
    }
    if (!isControl && size > this.#limit) throw new MessageTooLargeError(size, this.#limit);
    if (isControl && size > 64 * 1024) {
      throw new MessageFrameError("rpcx: error frame over 64 KiB");
    }
    if (!(await this.#fill(4 + size))) {
      throw new MessageFrameError("rpcx: message stream cut inside a frame");
    }
    const payload = this.#buf.slice(this.#start + 4, this.#start + 4 + size);
    this.#start += 4 + size;
    if (this.#start === this.#end) this.#start = this.#end = 0;
    if (isControl) throw new RemoteStreamError(new TextDecoder().decode(payload));
    return payload;
  }
}
