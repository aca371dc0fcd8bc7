/**
 * Payload compression: none and gzip, with a cap on decompressed size against gzip bombs.
 *
 * @module
 */
import { gunzipSync, gzipSync } from "node:zlib";
import { CompressType } from "./constants.ts";
import { DecompressionError, MalformedFrameError } from "./errors.ts";

/**
 * Compresses `data` as the given compress type describes.
 *
 * @example
 * ```ts
 * import { CompressType } from "@rpcx/core";
 * import { compressPayload } from "@rpcx/core/protocol";
 * const gz = compressPayload(new TextEncoder().encode("hello"), CompressType.Gzip);
 * console.log(gz[0] === 0x1f); // true
 * ```
 */
export function compressPayload(data: Uint8Array, type: CompressType): Uint8Array {
  if (type === CompressType.None || data.byteLength === 0) return data;
  if (type === CompressType.Gzip) {
    const out = gzipSync(data);
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  }
  throw new MalformedFrameError(`unknown compress type ${type}`);
}

/**
 * Decompresses `data`; throws {@linkcode DecompressionError} when it is not valid for the type
 * or when its output would exceed `maxLength` bytes.
 *
 * @example
 * ```ts
 * import { CompressType } from "@rpcx/core";
 * import { compressPayload, decompressPayload } from "@rpcx/core/protocol";
 * const gz = compressPayload(new Uint8Array(100), CompressType.Gzip);
 * console.log(decompressPayload(gz, CompressType.Gzip, 1024).byteLength); // 100
 * ```
 */
export function decompressPayload(
  data: Uint8Array,
  type: CompressType,
  maxLength: number,
): Uint8Array {
  if (type === CompressType.None || data.byteLength === 0) return data;
  if (type !== CompressType.Gzip) throw new MalformedFrameError(`unknown compress type ${type}`);
  try {
    const out = gunzipSync(data, { maxOutputLength: maxLength });
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === "ERR_BUFFER_TOO_LARGE" || e instanceof RangeError) {
      throw new DecompressionError(`decompressed size exceeds the limit of ${maxLength} bytes`, {
        cause: e,
      });
    }
    throw new DecompressionError((e as Error).message ?? String(e), { cause: e });
  }
}
