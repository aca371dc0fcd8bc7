/**
 * The protobuf slot (serialize type 2): the user supplies the message type's encode/decode.
 *
 * @module
 */
import type { Codec } from "./codec.ts";
import { CodecError } from "./codec.ts";

/**
 * An encode/decode pair for one protobuf message family, as generated code provides
 * (e.g. protobufjs `Type.encode(v).finish()` and `Type.decode(b)`).
 */
export interface ProtobufFunctions {
  /** Message value to protobuf bytes. */
  encode(value: unknown): Uint8Array;
  /** Protobuf bytes to message value. */
  decode(bytes: Uint8Array): unknown;
}

/**
 * Builds the codec for serialize type 2 from the user's encode/decode. A value that already is
 * a `Uint8Array` is sent as the encoded message.
 *
 * @example
 * ```ts
 * import { protobufCodec } from "@rpcx/core";
 * const codec = protobufCodec({ encode: (v) => v as Uint8Array, decode: (b) => b });
 * console.log(codec.name); // "protobuf"
 * ```
 */
export function protobufCodec(fns: ProtobufFunctions): Codec {
  return {
    name: "protobuf",
    encode(value: unknown): Uint8Array {
      if (value instanceof Uint8Array) return value;
      try {
        return fns.encode(value);
      } catch (e) {
        throw new CodecError(`protobuf encode failed: ${(e as Error).message}`, { cause: e });
      }
    },
    decode(bytes: Uint8Array): unknown {
      try {
        return fns.decode(bytes);
      } catch (e) {
        throw new CodecError(`protobuf decode failed: ${(e as Error).message}`, { cause: e });
      }
    },
  };
}
