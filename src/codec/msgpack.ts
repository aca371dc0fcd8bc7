/**
 * The MsgPack codec (serialize type 3), compatible with Go's vmihailenco/msgpack v5.
 *
 * @module
 */
import { Decoder, Encoder } from "@msgpack/msgpack";
import type { Codec } from "./codec.ts";
import { CodecError } from "./codec.ts";

const encoder = new Encoder({ ignoreUndefined: true });
const decoder = new Decoder({ useBigInt64: false });

/**
 * MsgPack as Go rpcx writes it: a struct is a map keyed by field name, Go `int` fields come as
 * 9-byte int64 and decode to numbers. We write compact ints, which Go decodes into any int
 * field. An empty payload decodes to `null`.
 *
 * @example
 * ```ts
 * import { msgpackCodec } from "@rpcx/core";
 * console.log(msgpackCodec.decode(msgpackCodec.encode({ A: 10, B: 20 }))); // { A: 10, B: 20 }
 * ```
 */
export const msgpackCodec: Codec = {
  name: "msgpack",
  encode(value: unknown): Uint8Array {
    try {
      return encoder.encode(value);
    } catch (e) {
      throw new CodecError(`msgpack codec cannot encode: ${(e as Error).message}`, { cause: e });
    }
  },
  decode(bytes: Uint8Array): unknown {
    if (bytes.byteLength === 0) return null;
    try {
      return decoder.decode(bytes);
    } catch (e) {
      throw new CodecError(`invalid msgpack payload: ${(e as Error).message}`, { cause: e });
    }
  },
};
