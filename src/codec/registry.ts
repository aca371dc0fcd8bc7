/**
 * The table of codecs by serialize type id.
 *
 * @module
 */
import { SerializeType } from "../protocol/constants.ts";
import { type Codec, UnsupportedCodecError } from "./codec.ts";
import { jsonCodec } from "./json.ts";
import { msgpackCodec } from "./msgpack.ts";
import { rawCodec } from "./raw.ts";

/**
 * A table of codecs by serialize type id (0 to 15). Starts with raw bytes, JSON and MsgPack;
 * register protobuf, thrift or your own with {@linkcode CodecRegistry.register}.
 *
 * @example
 * ```ts
 * import { CodecRegistry, protobufCodec, SerializeType } from "@rpcx/core";
 * const codecs = new CodecRegistry();
 * codecs.register(SerializeType.ProtoBuffer, protobufCodec({
 *   encode: (v) => v as Uint8Array,
 *   decode: (b) => b,
 * }));
 * console.log(codecs.get(SerializeType.JSON).name); // "json"
 * ```
 */
export class CodecRegistry {
  readonly #codecs = new Array<Codec | undefined>(16);

  /** Creates a registry with the built-in codecs, plus `extra` ones by id. */
  constructor(extra: Record<number, Codec> = {}) {
    this.#codecs[SerializeType.SerializeNone] = rawCodec;
    this.#codecs[SerializeType.JSON] = jsonCodec;
    this.#codecs[SerializeType.MsgPack] = msgpackCodec;
    for (const [id, codec] of Object.entries(extra)) this.register(Number(id), codec);
  }

  /** Sets the codec for a serialize type id (0 to 15). */
  register(serializeType: number, codec: Codec): this {
    if (!Number.isInteger(serializeType) || serializeType < 0 || serializeType > 15) {
      throw new RangeError(`serialize type must be 0..15, got ${serializeType}`);
    }
    this.#codecs[serializeType] = codec;
    return this;
  }

  /** The codec for a serialize type; throws {@linkcode UnsupportedCodecError} when none. */
  get(serializeType: number): Codec {
    const codec = this.#codecs[serializeType];
    if (!codec) throw new UnsupportedCodecError(serializeType);
    return codec;
  }

  /** Whether a codec is registered for the id. */
  has(serializeType: number): boolean {
    return this.#codecs[serializeType] !== undefined;
  }
}

/**
 * The process-wide default codec table used by servers and clients that are given none.
 *
 * @example
 * ```ts
 * import { defaultCodecs, SerializeType } from "@rpcx/core";
 * console.log(defaultCodecs.has(SerializeType.MsgPack)); // true
 * ```
 */
export const defaultCodecs: CodecRegistry = new CodecRegistry();
