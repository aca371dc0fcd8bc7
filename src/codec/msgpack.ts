/**
 * The MsgPack codec (serialize type 3), compatible with Go's vmihailenco/msgpack v5.
 *
 * @module
 */
import { Decoder, Encoder } from "@msgpack/msgpack";
import type { Codec } from "./codec.ts";
import { CodecError } from "./codec.ts";
import {
  encodePooled,
  lend,
  payloadBuffers,
  POOLED_PAYLOAD,
  type PoolingCodec,
} from "./_pooled.ts";
import { refusal } from "./_shapes.ts";

/**
 * The library's int64 hooks, which we replace on our own instances below: with `useBigInt64`
 * it reads every int64/uint64 (0xd3/0xcf) through `readI64AsBigInt`/`readU64AsBigInt` and
 * writes bigints through `encodeBigInt64`, and every number through `encodeNumber`.
 * tests/codec_test.ts pins the results, so a library change that moves them fails there.
 */
interface DecoderInt64 {
  view: DataView;
  pos: number;
  readI64AsBigInt(): number | bigint;
  readU64AsBigInt(): number | bigint;
}
interface EncoderInt64 {
  encodeNumber(n: number): void;
  encodeBigInt64(n: bigint): void;
}
/** The library's string writer and the buffer state it uses. */
interface EncoderStrings {
  bytes: Uint8Array;
  pos: number;
  ensureBufferSizeToWrite(size: number): void;
  writeStringHeader(byteLength: number): void;
  encodeString(s: string): void;
}

const textEncoder = new TextEncoder();
/** Strings from this many UTF-16 units are written with one `encodeInto`, never counted. */
const LONG_STRING = 64;

const TWO_32 = 4294967296;

const encoder = new Encoder({ ignoreUndefined: true, useBigInt64: true });
{
  const e = encoder as unknown as EncoderInt64;
  const encodeNumber = e.encodeNumber;
  const encodeBigInt64 = e.encodeBigInt64;
  // The library would wrap a bigint outside 64 bits silently.
  e.encodeBigInt64 = function (this: EncoderInt64, n: bigint): void {
    if (n < -0x8000000000000000n || n > 0xffffffffffffffffn) {
      throw new RangeError(`bigint ${n} does not fit in int64 or uint64`);
    }
    encodeBigInt64.call(this, n);
  };
  // With useBigInt64 the library writes integers from 2^32 up as float64; write them as
  // uint64/int64 instead, as without it (and as Go reads them into int fields).
  e.encodeNumber = function (this: EncoderInt64, n: number): void {
    if ((n >= TWO_32 || n < -2147483648) && Number.isSafeInteger(n)) {
      this.encodeBigInt64(BigInt(n));
    } else {
      encodeNumber.call(this, n);
    }
  };
}

{
  const e = encoder as unknown as EncoderStrings;
  const encodeString = e.encodeString;
  // The library counts a string's UTF-8 bytes in a JS loop before encoding it (a quarter of a
  // 16 KiB-string call's CPU). For long strings: encode first, behind room for the largest
  // header, then move the bytes next to the header their length needs (same bytes out).
  e.encodeString = function (this: EncoderStrings, str: string): void {
    if (str.length < LONG_STRING) return encodeString.call(this, str);
    this.ensureBufferSizeToWrite(5 + 3 * str.length);
    const start = this.pos;
    const { written } = textEncoder.encodeInto(str, this.bytes.subarray(start + 5));
    const header = written < 0x100 ? 2 : written < 0x10000 ? 3 : 5;
    if (header !== 5) this.bytes.copyWithin(start + header, start + 5, start + 5 + written);
    this.writeStringHeader(written);
    this.pos += written;
  };
}

/** The library's object writer and the helpers a map header needs. */
interface EncoderObjects {
  ignoreUndefined: boolean;
  encodeObject(object: unknown, depth: number): void;
  doEncode(object: unknown, depth: number): void;
  writeU8(v: number): void;
  writeU16(v: number): void;
  writeU32(v: number): void;
}

{
  const e = encoder as unknown as EncoderObjects;
  const encodeObject = e.encodeObject;
  // The library writes any other object as its own enumerable properties: a Map or a Set as an
  // empty map. A Map is written as a msgpack map of its entries, each key by its own type (a
  // number key as an int, as Go writes map[int]T, so Go decodes it into one); undefined
  // values are left out, as in objects. A Set and the like are refused (see _shapes.ts).
  e.encodeObject = function (this: EncoderObjects, object: unknown, depth: number): void {
    // Arrays and plain objects (nearly all) go straight to the library.
    if (typeof object !== "object" || object === null || Array.isArray(object)) {
      return encodeObject.call(this, object, depth);
    }
    const proto = Object.getPrototypeOf(object);
    if (proto === Object.prototype || proto === null) return encodeObject.call(this, object, depth);
    if (object instanceof Map) {
      let size = 0;
      for (const v of object.values()) if (!(this.ignoreUndefined && v === undefined)) size++;
      if (size < 16) this.writeU8(0x80 + size);
      else if (size < 0x10000) (this.writeU8(0xde), this.writeU16(size));
      else (this.writeU8(0xdf), this.writeU32(size));
      for (const [k, v] of object) {
        if (this.ignoreUndefined && v === undefined) continue;
        this.doEncode(k, depth + 1);
        this.doEncode(v, depth + 1);
      }
      return;
    }
    const why = refusal(object, "msgpack");
    if (why !== undefined) throw new TypeError(why);
    encodeObject.call(this, object, depth);
  };
}

const decoder = new Decoder({ useBigInt64: true });
{
  const d = decoder as unknown as DecoderInt64;
  // A number where it holds the value exactly, else a bigint.
  d.readI64AsBigInt = function (this: DecoderInt64): number | bigint {
    const hi = this.view.getInt32(this.pos);
    const lo = this.view.getUint32(this.pos + 4);
    const value = hi * TWO_32 + lo;
    const out = Number.isSafeInteger(value) ? value : this.view.getBigInt64(this.pos);
    this.pos += 8;
    return out;
  };
  d.readU64AsBigInt = function (this: DecoderInt64): number | bigint {
    const hi = this.view.getUint32(this.pos);
    const lo = this.view.getUint32(this.pos + 4);
    const value = hi * TWO_32 + lo;
    const out = Number.isSafeInteger(value) ? value : this.view.getBigUint64(this.pos);
    this.pos += 8;
    return out;
  };
}

/** The CodecError for an encoder's error. */
function encodeError(e: unknown): CodecError {
  const message = (e as Error).message;
  return new CodecError(
    message.startsWith("msgpack codec") ? message : `msgpack codec cannot encode: ${message}`,
    { cause: e },
  );
}

/**
 * MsgPack as Go rpcx writes it: a struct is a map keyed by field name, Go `int` fields come as
 * 9-byte int64 and decode to numbers. We write compact ints, which Go decodes into any int
 * field. An empty payload decodes to `null`.
 *
 * 64-bit integers stay exact: an int64/uint64 beyond ±(2^53 − 1) decodes to a `bigint`
 * (smaller ones to a `number`), and a `bigint` encodes as int64 (negative) or uint64; one
 * outside the 64-bit range throws {@linkcode CodecError}.
 *
 * A `Map` encodes as a msgpack map of its entries, each key by its own type: a Map with number
 * keys is what Go decodes into a `map[int]T` (an object's keys are strings, which Go's
 * `map[int]T` refuses). Maps decode as objects with string keys (Go's `map[int]string{1: "a"}`
 * arrives as `{ "1": "a" }`). A `Set`, `WeakMap`, `Promise`, `RegExp` or `ArrayBuffer` throws
 * {@linkcode CodecError} (the library would send it as an empty map).
 *
 * @example
 * ```ts
 * import { msgpackCodec } from "@rpcx/core/extend";
 * console.log(msgpackCodec.decode(msgpackCodec.encode({ A: 10, B: 20 }))); // { A: 10, B: 20 }
 * const int64 = Uint8Array.of(0xd3, 0, 0x20, 0, 0, 0, 0, 0, 1); // 2^53 + 1, as Go writes it
 * console.log(msgpackCodec.decode(int64)); // 9007199254740993n
 * console.log(msgpackCodec.decode(msgpackCodec.encode(2n ** 64n - 1n))); // 18446744073709551615n
 * console.log(msgpackCodec.encode(new Map([[1, "a"]]))); // Uint8Array(4) [ 129, 1, 161, 97 ]
 * ```
 */
export const msgpackCodec: Codec = {
  name: "msgpack",
  encode(value: unknown): Uint8Array {
    try {
      return encoder.encode(value);
    } catch (e) {
      throw encodeError(e);
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

/** The library's output buffer (replaced by `encodePooled` below). */
interface EncoderBuffer {
  bytes: Uint8Array<ArrayBuffer>;
  view: DataView<ArrayBuffer>;
}

// A large payload is the encoder's own buffer, handed out as it is (no copy), and the encoder
// gets another of the same size from the payload pool; the payload's buffer goes back there
// once its frame is made (see _pooled.ts). A small one is copied out, as `encode` does.
(msgpackCodec as PoolingCodec)[encodePooled] = (value: unknown): Uint8Array => {
  let out: Uint8Array<ArrayBuffer>;
  try {
    out = encoder.encodeSharedRef(value);
  } catch (e) {
    throw encodeError(e);
  }
  if (out.byteLength < POOLED_PAYLOAD) return out.slice();
  const e = encoder as unknown as EncoderBuffer;
  // A nested encode ran on a clone of the encoder: its buffer is nobody's.
  if (out.buffer !== e.bytes.buffer) return out;
  const next = payloadBuffers.take(e.bytes.byteLength);
  e.bytes = next;
  e.view = new DataView(next.buffer, next.byteOffset, next.byteLength);
  return lend(out);
};
