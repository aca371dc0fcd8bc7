/**
 * The JSON codec (serialize type 1).
 *
 * @module
 */
import { isInteger, isSafeNumber, parse as parseLossless, stringify } from "lossless-json";
import type { Codec } from "./codec.ts";
import { CodecError } from "./codec.ts";
import { GoJsonSyntaxError, scanGoJson } from "../_internal/go/json.ts";
import { refusal } from "./_shapes.ts";

const encoder = new TextEncoder();
// As Go's encoding/json: invalid UTF-8 in a string becomes U+FFFD, not an error (and the
// non-fatal decoder is several times faster).
const decoder = new TextDecoder();

/**
 * Whether the text has a run of 16 or more ASCII digits: only an integer that long can pass
 * 2^53 (9007199254740992 has 16 digits), so only such text needs the lossless parser. Any 16
 * consecutive bytes hold exactly one position ≡ 15 (mod 16), so only those positions are read,
 * and the run around a digit found there is measured: ~1/16 of the bytes for typical text.
 */
function hasLongDigitRun(b: Uint8Array): boolean {
  const n = b.length;
  for (let p = 15; p < n; p += 16) {
    if (b[p] < 48 || b[p] > 57) continue;
    let lo = p;
    let hi = p;
    while (lo > 0 && b[lo - 1] >= 48 && b[lo - 1] <= 57) lo--;
    while (hi + 1 < n && b[hi + 1] >= 48 && b[hi + 1] <= 57) hi++;
    if (hi - lo >= 15) return true;
  }
  return false;
}

/** An integer a number cannot hold exactly becomes a bigint; every other number a number. */
function parseNumber(text: string): number | bigint {
  return isInteger(text) && !isSafeNumber(text) ? BigInt(text) : parseFloat(text);
}

/** As JSON.parse and Go's encoding/json: the last of duplicate keys wins. */
const LOSSLESS_OPTIONS = {
  parseNumber,
  onDuplicateKey: ({ newValue }: { newValue: unknown }) => newValue,
};

function parseBytes(bytes: Uint8Array): unknown {
  const text = decoder.decode(bytes);
  return hasLongDigitRun(bytes) ? parseLossless(text, null, LOSSLESS_OPTIONS) : JSON.parse(text);
}

/**
 * The replacer for values JSON would write as `{}`: a Map becomes an object of its entries
 * (a number or bigint key as its digits, which Go's encoding/json reads into a `map[int]T`),
 * a Set and the like throw (see _shapes.ts).
 */
function replaceShapes(_key: string, value: unknown): unknown {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return value;
  if (value instanceof Map) {
    const out: Record<string, unknown> = Object.create(null);
    for (const [k, v] of value) {
      const t = typeof k;
      if (t !== "string" && t !== "number" && t !== "bigint") {
        throw new CodecError(
          `json codec cannot encode a Map key of type ${k === null ? "null" : t}: ` +
            "JSON object keys are strings (Go: string or integer map keys)",
        );
      }
      const name = String(k);
      if (name in out) {
        throw new CodecError(
          `json codec cannot encode a Map with the keys ${name} twice (as text)`,
        );
      }
      out[name] = v;
    }
    return out;
  }
  const why = refusal(value, "json");
  if (why !== undefined) throw new CodecError(why);
  return value;
}

/**
 * Whether `value` holds a Map or an object {@linkcode replaceShapes} refuses. Walked only when
 * the text `JSON.stringify` wrote holds `{}` (so `value` has no cycle): a walk without a
 * replacer, 3–6× cheaper than writing the text again with one.
 */
function hasShapes(value: unknown): boolean {
  if (typeof value !== "object" || value === null) return false;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (hasShapes(value[i])) return true;
    return false;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    if (value instanceof Map || refusal(value, "json") !== undefined) return true;
    if (ArrayBuffer.isView(value) || value instanceof Date) return false;
  }
  if (typeof (value as { toJSON?: unknown }).toJSON === "function") return true; // as JSON does
  for (const k in value) {
    if (Object.hasOwn(value, k) && hasShapes((value as Record<string, unknown>)[k])) return true;
  }
  return false;
}

/**
 * Standard JSON, as Go's encoding/json reads and writes it. An empty payload decodes to `null`.
 *
 * Integers beyond ±(2^53 − 1), which Go's `int64`/`uint64` fields carry, stay exact: they
 * decode to a `bigint` (every other number to a `number`), and a `bigint` encodes as its
 * digits. Text with no run of 16 digits (the only way to write such an integer) takes
 * `JSON.parse` directly; other text is parsed with the `lossless-json` library.
 *
 * A `Map` with string, number or bigint keys encodes as an object of its entries (number keys
 * as their digits, as Go's encoding/json writes `map[int]T`, and reads back into one); objects
 * decode with string keys. A `Set`, `WeakMap`, `Promise`, `RegExp` or `ArrayBuffer` throws
 * {@linkcode CodecError} (`JSON.stringify` would write `{}`).
 *
 * @example
 * ```ts
 * import { jsonCodec } from "@rpcx/core/extend";
 * console.log(jsonCodec.decode(jsonCodec.encode({ A: 1 }))); // { A: 1 }
 * const big = jsonCodec.decode(new TextEncoder().encode('{"ID":9007199254740993}'));
 * console.log(big); // { ID: 9007199254740993n }
 * console.log(new TextDecoder().decode(jsonCodec.encode({ ID: 2n ** 62n + 1n })));
 * // {"ID":4611686018427387905}
 * console.log(new TextDecoder().decode(jsonCodec.encode(new Map([[1, "a"]])))); // {"1":"a"}
 * ```
 */
export const jsonCodec: Codec = {
  name: "json",
  encode(value: unknown): Uint8Array {
    let text: string | undefined;
    try {
      text = JSON.stringify(value ?? null);
      // A Map or a Set is written `{}`: only then (an empty object, or "{}" in a string, is
      // told apart by a walk) write again, with the replacer; other payloads pay nothing.
      if (text?.includes("{}") && hasShapes(value)) {
        text = JSON.stringify(value ?? null, replaceShapes);
      }
    } catch (e) {
      if (e instanceof CodecError) throw e;
      if (!(e instanceof TypeError) || !/bigint/i.test(e.message)) {
        throw new CodecError(`json codec cannot encode: ${e}`, { cause: e });
      }
      try {
        text = stringify(value, replaceShapes);
      } catch (e2) {
        if (e2 instanceof CodecError) throw e2;
        throw new CodecError(`json codec cannot encode: ${e2}`, { cause: e2 });
      }
    }
    if (text === undefined) throw new CodecError(`json codec cannot encode ${typeof value}`);
    return encoder.encode(text);
  },
  decode(bytes: Uint8Array): unknown {
    if (bytes.byteLength === 0) return null;
    try {
      return parseBytes(bytes);
    } catch (e) {
      // Go's JSON codec (a json.Decoder) reads the first value and stops: text after it is
      // ignored, and a syntax error reads as Go's.
      let goText: string | undefined;
      try {
        scanGoJson(bytes);
      } catch (g) {
        if (g instanceof GoJsonSyntaxError) {
          if (/after top-level value$/.test(g.message)) {
            try {
              return parseBytes(bytes.subarray(0, g.offset));
            } catch {
              // fall through to the error
            }
          }
          goText = g.message === "unexpected end of JSON input" ? "unexpected EOF" : g.message;
        }
      }
      throw new CodecError(goText ?? `invalid json payload: ${(e as Error).message}`, {
        cause: e,
      });
    }
  },
};
