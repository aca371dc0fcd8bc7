/**
 * The JSON codec (serialize type 1).
 *
 * @module
 */
import type { Codec } from "./codec.ts";
import { CodecError } from "./codec.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * Standard JSON, as Go's encoding/json reads and writes it. An empty payload decodes to `null`.
 *
 * @example
 * ```ts
 * import { jsonCodec } from "@rpcx/core";
 * console.log(jsonCodec.decode(jsonCodec.encode({ A: 1 }))); // { A: 1 }
 * ```
 */
export const jsonCodec: Codec = {
  name: "json",
  encode(value: unknown): Uint8Array {
    const text = JSON.stringify(value ?? null);
    if (text === undefined) throw new CodecError(`json codec cannot encode ${typeof value}`);
    return encoder.encode(text);
  },
  decode(bytes: Uint8Array): unknown {
    if (bytes.byteLength === 0) return null;
    try {
      return JSON.parse(decoder.decode(bytes));
    } catch (e) {
      throw new CodecError(`invalid json payload: ${(e as Error).message}`, { cause: e });
    }
  },
};
