/**
 * Typed errors raised while framing, parsing or decompressing rpcx messages.
 *
 * @module
 */

/**
 * Base class of every error @rpcx/core raises.
 *
 * @example
 * ```ts
 * import { RpcxError } from "@rpcx/core";
 * try {
 *   throw new RpcxError("boom");
 * } catch (e) {
 *   console.log(e instanceof RpcxError); // true
 * }
 * ```
 */
export class RpcxError extends Error {
  /** Creates an error with the given message. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * A frame on the wire breaks the rpcx layout. The connection that sent it is closed.
 *
 * @example
 * ```ts
 * import { ProtocolError } from "@rpcx/core";
 * import { FrameDecoder } from "@rpcx/core/protocol";
 * try {
 *   new FrameDecoder().push(new Uint8Array(16).fill(1));
 * } catch (e) {
 *   console.log(e instanceof ProtocolError); // true
 * }
 * ```
 */
export class ProtocolError extends RpcxError {}

/**
 * The first byte of a frame is not the rpcx magic number 0x08.
 *
 * @example
 * ```ts
 * import { InvalidMagicError } from "@rpcx/core/protocol";
 * console.log(new InvalidMagicError(0x47).message);
 * ```
 */
export class InvalidMagicError extends ProtocolError {
  /** The byte that was found instead. */
  readonly found: number;
  /** Creates the error for the byte found. */
  constructor(found: number) {
    super(`rpcx: wrong magic number 0x${found.toString(16).padStart(2, "0")}, want 0x08`);
    this.found = found;
  }
}

/**
 * A frame announces more bytes than the configured maximum frame length.
 *
 * @example
 * ```ts
 * import { FrameTooLargeError } from "@rpcx/core/protocol";
 * console.log(new FrameTooLargeError(1 << 30, 1 << 20).message);
 * ```
 */
export class FrameTooLargeError extends ProtocolError {
  /** The announced length. */
  readonly length: number;
  /** The limit in force. */
  readonly limit: number;
  /** Creates the error for an announced length and the limit. */
  constructor(length: number, limit: number) {
    super(`rpcx: message length ${length} exceeds the limit of ${limit} bytes`);
    this.length = length;
    this.limit = limit;
  }
}

/**
 * A length inside a frame points past its end, metadata is cut, or a type is unknown.
 *
 * @example
 * ```ts
 * import { MalformedFrameError } from "@rpcx/core/protocol";
 * console.log(new MalformedFrameError("service path length 99 exceeds frame").message);
 * ```
 */
export class MalformedFrameError extends ProtocolError {
  /** Creates the error with what is wrong. */
  constructor(detail: string) {
    super(`rpcx: malformed frame: ${detail}`);
  }
}

/**
 * The stream ended in the middle of a frame.
 *
 * @example
 * ```ts
 * import { TruncatedFrameError } from "@rpcx/core/protocol";
 * console.log(new TruncatedFrameError(10).message);
 * ```
 */
export class TruncatedFrameError extends ProtocolError {
  /** Creates the error for the number of bytes left unparsed. */
  constructor(buffered: number) {
    super(`rpcx: connection closed in the middle of a frame (${buffered} bytes pending)`);
  }
}

/**
 * A compressed payload could not be decompressed, or it would grow past the allowed size.
 *
 * @example
 * ```ts
 * import { DecompressionError } from "@rpcx/core/protocol";
 * console.log(new DecompressionError("bad gzip").message);
 * ```
 */
export class DecompressionError extends ProtocolError {
  /** Creates the error with what is wrong. */
  constructor(detail: string, options?: ErrorOptions) {
    super(`rpcx: cannot decompress payload: ${detail}`, options);
  }
}
