/**
 * The wire codec contract: what a backend (pure TS or the native library) does for a
 * connection, which paths exist, and the errors of the native path.
 *
 * @module
 */
import { RpcxError } from "../protocol/errors.ts";
import type { Message } from "../protocol/message.ts";
import type { BatchAlloc } from "../protocol/encode.ts";

/** Which wire codec to load: `auto` (native when available), `ts` or `native` (required). */
export type WireCodecMode = "auto" | "ts" | "native";

/** An implementation: the pure-TS reference or the native library. */
export type WireImplementation = "ts" | "native";

/**
 * The operations a backend can route to either implementation:
 * - `encode`: framing a batch of messages into one buffer. With `native`, gzip payloads are
 *   compressed by the library straight into the frame buffer.
 * - `gzip`: compressing one payload (also used by TS framing for gzip messages).
 * - `gunzip`: decompressing one payload with an output limit.
 */
export type WireOperation = "encode" | "gzip" | "gunzip";

/**
 * A wire codec the core plugs in: the connection writer calls `encodeMessages` for each batch
 * of queued messages; decoders call `gunzip` for gzip payloads. The methods are bound (they can
 * be passed around as plain functions) and synchronous; one backend can serve every connection
 * of the process. Buffers they return are fresh (never reused by a later call), unless
 * `encodeMessages` is given an `alloc` to take its buffer from.
 *
 * @example
 * ```ts
 * import { loadWireCodec } from "@rpcx/core/native";
 * import { createMessage } from "@rpcx/core/protocol";
 * const codec = loadWireCodec("auto");
 * const bytes = codec.encodeMessages([createMessage({ servicePath: "Arith", seq: 1n })]);
 * console.log(codec.name, bytes.byteLength); // "ts" or "native", 37
 * ```
 */
export interface WireCodecBackend {
  /** `native` when the native library is loaded and used for at least one operation. */
  readonly name: "ts" | "native";
  /** Which implementation serves each operation. */
  readonly implementations: Readonly<Record<WireOperation, WireImplementation>>;
  /**
   * When `gzip` is native: payloads of at least this many bytes are still gzipped by
   * node:zlib (TS), which measured faster on large inputs; 0 when gzip is TS.
   */
  readonly gzipNativeBelow: number;
  /** In auto mode, why the native library is not used (undefined when it is, or in ts mode). */
  readonly fallbackReason?: string;
  /**
   * Encodes messages back to back into one buffer (gzip payloads compressed as flagged), taken
   * from `alloc` when given (exactly the length asked; the result may be a shorter view of it).
   */
  encodeMessages(msgs: readonly Message[], alloc?: BatchAlloc): Uint8Array;
  /** Gzips a payload; an empty payload stays empty (as the TS encoder does). */
  gzip(data: Uint8Array): Uint8Array;
  /**
   * Gunzips a payload; throws {@linkcode DecompressionError} for invalid data or when the
   * output would exceed `maxLength` bytes. An empty payload stays empty.
   */
  gunzip(data: Uint8Array, maxLength: number): Uint8Array;
}

/** Why the native library cannot be used. */
export type NativeUnavailableReason =
  | "unsupported"
  | "permission"
  | "no-path"
  | "load-failed"
  | "abi-mismatch";

/**
 * `wireCodec: "native"` was requested but the native library cannot be used.
 *
 * @example
 * ```ts
 * import { loadWireCodec, NativeCodecUnavailableError } from "@rpcx/core/native";
 * try {
 *   loadWireCodec("native", { libraryPath: "/nonexistent/librpcx_native.so" });
 * } catch (e) {
 *   console.log(e instanceof NativeCodecUnavailableError); // true
 * }
 * ```
 */
export class NativeCodecUnavailableError extends RpcxError {
  /** What went wrong. */
  readonly reason: NativeUnavailableReason;
  /** The library path that was tried, if any. */
  readonly path?: string;
  /** Creates the error. */
  constructor(
    reason: NativeUnavailableReason,
    detail: string,
    path?: string,
    options?: ErrorOptions,
  ) {
    super(`rpcx: native codec unavailable (${reason}): ${detail}`, options);
    this.reason = reason;
    this.path = path;
  }
}

/**
 * The native library returned an error code that is not a data error (a bug or misuse).
 *
 * @example
 * ```ts
 * import { NativeCodecError } from "@rpcx/core/native";
 * console.log(new NativeCodecError("encode", -5).code); // -5
 * ```
 */
export class NativeCodecError extends RpcxError {
  /** The negative code returned. */
  readonly code: number;
  /** Creates the error for an operation and code. */
  constructor(operation: string, code: number) {
    super(`rpcx: native ${operation} failed with code ${code}`);
    this.code = code;
  }
}
