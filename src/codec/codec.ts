/**
 * Codecs turn call arguments and replies into payload bytes and back, one per serialize type.
 *
 * @module
 */
import { RpcxError } from "../protocol/errors.ts";

/**
 * Serializes values to payload bytes and back.
 *
 * @example
 * ```ts
 * import type { Codec } from "@rpcx/core/extend";
 * const upper: Codec = {
 *   name: "upper-text",
 *   encode: (v) => new TextEncoder().encode(String(v).toUpperCase()),
 *   decode: (b) => new TextDecoder().decode(b),
 * };
 * console.log(upper.decode(upper.encode("hi"))); // "HI"
 * ```
 */
export interface Codec {
  /** A name for messages and errors. */
  readonly name: string;
  /** Value to bytes. */
  encode(value: unknown): Uint8Array;
  /** Bytes to value. */
  decode(bytes: Uint8Array): unknown;
}

/**
 * A value could not be encoded or a payload could not be decoded.
 *
 * @example
 * ```ts
 * import { CodecError } from "@rpcx/core";
 * console.log(new CodecError("bad json").message);
 * ```
 */
export class CodecError extends RpcxError {}

/**
 * No codec is registered for a serialize type.
 *
 * @example
 * ```ts
 * import { UnsupportedCodecError } from "@rpcx/core";
 * console.log(new UnsupportedCodecError(9).message); // "can not find codec for 9"
 * ```
 */
export class UnsupportedCodecError extends CodecError {
  /** Creates the error for the serialize type. */
  constructor(serializeType: number) {
    super(`can not find codec for ${serializeType}`);
  }
}
