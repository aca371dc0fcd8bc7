/**
 * The SerializeNone codec: the payload is the caller's bytes as they are.
 *
 * @module
 */
import type { Codec } from "./codec.ts";
import { CodecError } from "./codec.ts";

/**
 * Raw bytes (serialize type 0). Encodes `Uint8Array`, `ArrayBuffer` or a string (as UTF-8);
 * decodes to `Uint8Array`.
 *
 * @example
 * ```ts
 * import { rawCodec } from "@rpcx/core/extend";
 * console.log(rawCodec.encode(new Uint8Array([1, 2])).byteLength); // 2
 * ```
 */
export const rawCodec: Codec = {
  name: "raw",
  encode(value: unknown): Uint8Array {
    if (value instanceof Uint8Array) return value;
    if (value instanceof ArrayBuffer) return new Uint8Array(value);
    if (ArrayBuffer.isView(value)) {
      return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
    }
    if (typeof value === "string") return new TextEncoder().encode(value);
    if (value === undefined || value === null) return new Uint8Array(0);
    throw new CodecError(`raw codec needs bytes, got ${typeof value}`);
  },
  decode(bytes: Uint8Array): Uint8Array {
    return bytes;
  },
};
