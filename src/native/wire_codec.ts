/**
 * Pluggable wire codec: frame encoding of a connection's write queue and gzip, either in pure
 * TypeScript (the reference) or through the optional native library `librpcx_native` (the Rust
 * crate in `native/`, loaded with `Deno.dlopen`).
 *
 * {@linkcode loadWireCodec}`("auto")` uses the native library when it can be loaded (FFI
 * permission granted, library found, ABI version matching) and falls back to TypeScript
 * silently otherwise; in auto mode each operation goes to whichever path measured faster
 * (see {@linkcode AUTO_IMPLEMENTATIONS}). `loadWireCodec("native")` throws
 * {@linkcode NativeCodecUnavailableError} when the library cannot be used.
 *
 * The library is looked up at, in order: `options.libraryPath`; the `RPCX_NATIVE_LIB`
 * environment variable (read only when env access to it is granted); the local build
 * `native/target/release/librpcx_native.so` (`.dylib`, `.dll`) of this repository, found
 * relative to this module. Only the first of these that is set is tried.
 *
 * @module
 */
import { CompressType } from "../protocol/constants.ts";
import { compressPayload, decompressPayload } from "../protocol/compression.ts";
import { DecompressionError, MalformedFrameError, RpcxError } from "../protocol/errors.ts";
import {
  encodeMessages,
  flagsByte,
  HEADER_LENGTH,
  type Message,
  type PreparedMessage,
  prepareMessage,
  writeMessage,
} from "../protocol/message.ts";
import { writeUtf8 } from "../protocol/utf8.ts";
import {
  DESCRIPTOR_WORDS,
  localBuildPath,
  NATIVE_ABI_VERSION,
  NATIVE_MAX_LENGTH,
  NativeErrorCode,
  NativeLibrary,
  PAYLOAD_EXTERNAL,
  PAYLOAD_PRECOMPRESSED,
} from "./ffi.ts";

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
 * of the process. Buffers they return are fresh (never reused by a later call).
 *
 * @example
 * ```ts
 * import { loadWireCodec } from "@rpcx/core/protocol";
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
  /** Encodes messages back to back into one buffer (gzip payloads compressed as flagged). */
  encodeMessages(msgs: readonly Message[]): Uint8Array;
  /** Gzips a payload; an empty payload stays empty (as the TS encoder does). */
  gzip(data: Uint8Array): Uint8Array;
  /**
   * Gunzips a payload; throws {@linkcode DecompressionError} for invalid data or when the
   * output would exceed `maxLength` bytes. An empty payload stays empty.
   */
  gunzip(data: Uint8Array, maxLength: number): Uint8Array;
}

/** Options of {@linkcode loadWireCodec}. */
export interface LoadWireCodecOptions {
  /** The library to load, instead of `RPCX_NATIVE_LIB` or the local build. */
  libraryPath?: string;
  /**
   * Per-operation overrides of the implementation (ignored in `ts` mode). Defaults: all
   * `native` in native mode, {@linkcode AUTO_IMPLEMENTATIONS} in auto mode.
   */
  implementations?: Partial<Record<WireOperation, WireImplementation>>;
  /**
   * With native gzip, payloads of at least this many bytes are gzipped by node:zlib instead.
   * Defaults: {@linkcode AUTO_GZIP_NATIVE_BELOW} in auto mode, `Infinity` in native mode.
   */
  gzipNativeBelow?: number;
}

/**
 * What auto mode uses per operation when the library is available, decided from the figures
 * of `bench/ratios.ts` (2-core AMD EPYC, native/TS time): `encode` native (64 small messages
 * 0.60, one 64 B message 0.90, 4 KiB and 1 MiB 1.00 — never slower, its gzip messages 0.42 to
 * 0.91); `gzip` native below {@linkcode AUTO_GZIP_NATIVE_BELOW} (64 B 0.62, 4 KiB 0.88; 1 MiB
 * 1.06, so large payloads go to node:zlib); `gunzip` native (64 B 0.11, 4 KiB 0.64, 1 MiB
 * 0.72).
 *
 * @example
 * ```ts
 * import { AUTO_IMPLEMENTATIONS } from "@rpcx/core/protocol";
 * console.log(AUTO_IMPLEMENTATIONS.gzip);
 * ```
 */
export const AUTO_IMPLEMENTATIONS: Readonly<Record<WireOperation, WireImplementation>> = Object
  .freeze({
    encode: "native",
    gzip: "native",
    gunzip: "native",
  });

/**
 * Auto mode's size split for gzip: below it the library is faster (less per-call overhead),
 * from it on node:zlib measured a few percent faster with a generic (non `target-cpu=native`)
 * build of the library.
 *
 * @example
 * ```ts
 * import { AUTO_GZIP_NATIVE_BELOW } from "@rpcx/core/protocol";
 * console.log(AUTO_GZIP_NATIVE_BELOW); // 32768
 * ```
 */
export const AUTO_GZIP_NATIVE_BELOW = 32 * 1024;

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
 * import { loadWireCodec, NativeCodecUnavailableError } from "@rpcx/core/protocol";
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
 * import { NativeCodecError } from "@rpcx/core/protocol";
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

// ---------------------------------------------------------------------------------------------
// Loading
// ---------------------------------------------------------------------------------------------

type Loaded = { lib: NativeLibrary } | { error: NativeCodecUnavailableError };

const loadCache = new Map<string, Loaded>();

function envLibraryPath(): string | undefined {
  try {
    const st = Deno.permissions.querySync({ name: "env", variable: "RPCX_NATIVE_LIB" });
    if (st.state !== "granted") return undefined;
    return Deno.env.get("RPCX_NATIVE_LIB") || undefined;
  } catch {
    return undefined;
  }
}

function resolvePath(options: LoadWireCodecOptions): string | undefined {
  return options.libraryPath ?? envLibraryPath() ?? localBuildPath();
}

function openLibrary(path: string | undefined, explicit: boolean): Loaded {
  if (typeof Deno === "undefined" || typeof Deno.dlopen !== "function") {
    return { error: new NativeCodecUnavailableError("unsupported", "Deno.dlopen is missing") };
  }
  if (path === undefined) {
    return {
      error: new NativeCodecUnavailableError(
        "no-path",
        "set RPCX_NATIVE_LIB or pass libraryPath (the module is not loaded from a file)",
      ),
    };
  }
  let state: Deno.PermissionState;
  try {
    state = Deno.permissions.querySync({ name: "ffi", path }).state;
  } catch {
    state = "denied";
  }
  // Auto mode never triggers a permission prompt; explicit native mode may.
  if (state === "denied" || (state === "prompt" && !explicit)) {
    return {
      error: new NativeCodecUnavailableError(
        "permission",
        `ffi access to ${path} is not granted (run with --allow-ffi)`,
        path,
      ),
    };
  }
  const cached = loadCache.get(path);
  if (cached) return cached;
  let result: Loaded;
  try {
    const lib = NativeLibrary.open(path);
    if (lib.abiVersion !== NATIVE_ABI_VERSION) {
      lib.close();
      result = {
        error: new NativeCodecUnavailableError(
          "abi-mismatch",
          `library ABI version ${lib.abiVersion}, this module needs ${NATIVE_ABI_VERSION}`,
          path,
        ),
      };
    } else {
      result = { lib };
    }
  } catch (e) {
    const reason = e instanceof Deno.errors.NotCapable || e instanceof Deno.errors.PermissionDenied
      ? "permission"
      : "load-failed";
    // Permission errors are not cached: a later call may run with the permission granted.
    const error = new NativeCodecUnavailableError(
      reason,
      `cannot load ${path}: ${(e as Error).message ?? e}`,
      path,
      { cause: e },
    );
    if (reason === "permission") return { error };
    result = { error };
  }
  loadCache.set(path, result);
  return result;
}

/**
 * Loads a wire codec. `ts` always works. `native` routes every operation to the native library
 * (or those not overridden by `options.implementations`) and throws
 * {@linkcode NativeCodecUnavailableError} when the library cannot be used. `auto` uses the
 * library per {@linkcode AUTO_IMPLEMENTATIONS} when it loads, and silently falls back to TS
 * otherwise (`fallbackReason` says why). Works without `--allow-ffi` (auto falls back; auto
 * never prompts for a permission). The library is opened once per path and kept open, and
 * native backends are shared per library and configuration.
 *
 * @example
 * ```ts
 * import { loadWireCodec } from "@rpcx/core/protocol";
 * const codec = loadWireCodec("auto");
 * console.log(codec.name, codec.implementations);
 * const gz = codec.gzip(new TextEncoder().encode("hello hello hello"));
 * console.log(new TextDecoder().decode(codec.gunzip(gz, 1024))); // "hello hello hello"
 * ```
 */
export function loadWireCodec(
  mode: WireCodecMode = "auto",
  options: LoadWireCodecOptions = {},
): WireCodecBackend {
  if (mode === "ts") return TS_BACKEND;
  if (mode !== "auto" && mode !== "native") {
    throw new TypeError(`unknown wire codec mode ${JSON.stringify(mode)}`);
  }
  const loaded = openLibrary(resolvePath(options), mode === "native");
  if ("error" in loaded) {
    if (mode === "native") throw loaded.error;
    return new TsWireCodec(loaded.error.message);
  }
  const base: Record<WireOperation, WireImplementation> = mode === "native"
    ? { encode: "native", gzip: "native", gunzip: "native" }
    : { ...AUTO_IMPLEMENTATIONS };
  const impl = { ...base, ...options.implementations };
  if (impl.encode === "ts" && impl.gzip === "ts" && impl.gunzip === "ts") {
    return new TsWireCodec(undefined);
  }
  const below = options.gzipNativeBelow ??
    (mode === "native" ? Number.POSITIVE_INFINITY : AUTO_GZIP_NATIVE_BELOW);
  // One backend per library and configuration: calls are synchronous, so every connection of
  // the process can share it (and its scratch buffers).
  const key = `${loaded.lib.path}|${impl.encode},${impl.gzip},${impl.gunzip}|${below}`;
  let backend = backendCache.get(key);
  if (!backend) {
    backend = new NativeWireCodec(loaded.lib, impl, impl.gzip === "native" ? below : 0);
    backendCache.set(key, backend);
  }
  return backend;
}

const backendCache = new Map<string, WireCodecBackend>();

// ---------------------------------------------------------------------------------------------
// TS backend
// ---------------------------------------------------------------------------------------------

class TsWireCodec implements WireCodecBackend {
  readonly name = "ts" as const;
  readonly implementations: Readonly<Record<WireOperation, WireImplementation>> = Object.freeze({
    encode: "ts",
    gzip: "ts",
    gunzip: "ts",
  });
  readonly gzipNativeBelow = 0;
  readonly fallbackReason?: string;
  constructor(fallbackReason: string | undefined) {
    if (fallbackReason !== undefined) this.fallbackReason = fallbackReason;
  }
  encodeMessages(msgs: readonly Message[]): Uint8Array {
    return encodeMessages(msgs);
  }
  gzip(data: Uint8Array): Uint8Array {
    return compressPayload(data, CompressType.Gzip);
  }
  gunzip(data: Uint8Array, maxLength: number): Uint8Array {
    return decompressPayload(data, CompressType.Gzip, maxLength);
  }
}

const TS_BACKEND: WireCodecBackend = new TsWireCodec(undefined);

// ---------------------------------------------------------------------------------------------
// Native backend
// ---------------------------------------------------------------------------------------------

/** Gzip level: zlib's default, as node:zlib and Go's gzip.DefaultCompression use. */
const GZIP_LEVEL = 6;
/**
 * Uncompressed payloads of at least this many bytes are not staged in the blob: the library
 * leaves a hole that TS fills, so they are copied once. Smaller ones are cheaper to stage.
 */
const EXTERNAL_PAYLOAD = 1024;
/** Scratch buffers larger than this are not kept between calls. */
const KEEP_SCRATCH = 4 * 1024 * 1024;

/** Same bound as `gzip_bound` in native/src/lib.rs (the library re-checks it). */
function gzipBound(n: number): number {
  return n + ((n + 7) >>> 3) + ((n + 63) >>> 6) + 5 + 18;
}

function putU32(buf: Uint8Array, off: number, v: number): void {
  buf[off] = v >>> 24;
  buf[off + 1] = (v >>> 16) & 0xff;
  buf[off + 2] = (v >>> 8) & 0xff;
  buf[off + 3] = v & 0xff;
}

function limitOf(maxLength: number): number {
  if (!(maxLength > 0)) return 0;
  return Math.min(Math.floor(maxLength), NATIVE_MAX_LENGTH);
}

class NativeWireCodec implements WireCodecBackend {
  readonly name = "native" as const;
  readonly implementations: Readonly<Record<WireOperation, WireImplementation>>;
  readonly gzipNativeBelow: number;
  readonly #lib: NativeLibrary;
  #desc = new ArrayBuffer(64 * DESCRIPTOR_WORDS * 4);
  #d32 = new Uint32Array(this.#desc);
  #d64 = new BigUint64Array(this.#desc);
  #dBytes = new Uint8Array(this.#desc);
  #blob = new Uint8Array(64 * 1024);
  #scratch = new Uint8Array(64 * 1024);

  constructor(
    lib: NativeLibrary,
    impl: Record<WireOperation, WireImplementation>,
    gzipNativeBelow: number,
  ) {
    this.#lib = lib;
    this.gzipNativeBelow = gzipNativeBelow;
    this.implementations = Object.freeze({ ...impl });
    if (impl.encode === "native") {
      this.encodeMessages = this.#encodeNative;
    } else if (impl.gzip === "native") {
      this.encodeMessages = this.#encodeTsNativeGzip;
    } else {
      this.encodeMessages = encodeMessages;
    }
    // Bound, so `const { gunzip } = codec` works.
    this.gzip = impl.gzip === "ts" ? TS_BACKEND.gzip : this.gzip.bind(this);
    this.gunzip = impl.gunzip === "ts" ? TS_BACKEND.gunzip : this.gunzip.bind(this);
  }

  encodeMessages: (msgs: readonly Message[]) => Uint8Array;

  gzip(data: Uint8Array): Uint8Array {
    const n = data.byteLength;
    if (n === 0) return data;
    if (n >= this.gzipNativeBelow || n > NATIVE_MAX_LENGTH) {
      return compressPayload(data, CompressType.Gzip);
    }
    const bound = gzipBound(n);
    if (bound <= KEEP_SCRATCH) {
      if (this.#scratch.byteLength < bound) {
        this.#scratch = new Uint8Array(Math.max(bound, this.#scratch.byteLength * 2));
      }
      const r = this.#lib.gzipInto(data, this.#scratch, GZIP_LEVEL);
      if (r < 0) throw new NativeCodecError("gzip", r);
      return this.#scratch.slice(0, r);
    }
    const out = new Uint8Array(Math.min(bound, NATIVE_MAX_LENGTH));
    const r = this.#lib.gzipInto(data, out, GZIP_LEVEL);
    if (r < 0) throw new NativeCodecError("gzip", r);
    return out.subarray(0, r);
  }

  gunzip(data: Uint8Array, maxLength: number): Uint8Array {
    const n = data.byteLength;
    if (n === 0) return data;
    if (n > NATIVE_MAX_LENGTH) return decompressPayload(data, CompressType.Gzip, maxLength);
    const limit = limitOf(maxLength);
    // The gzip trailer's ISIZE is a hint (it can lie, and multi-member data sums several): when
    // it is within the limit, decompress into exactly that much; otherwise measure first, with
    // constant memory, so a bomb never allocates more than the limit.
    if (n >= 18) {
      const hint =
        (data[n - 4] | (data[n - 3] << 8) | (data[n - 2] << 16) | (data[n - 1] << 24)) >>>
        0;
      if (hint <= limit) {
        const out = new Uint8Array(hint);
        const r = this.#lib.gunzipInto(data, out);
        if (r >= 0) return r === hint ? out : out.subarray(0, r);
        if (r !== NativeErrorCode.OutputFull) throw gunzipError(r, maxLength);
      }
    }
    const size = this.#lib.gunzipSize(data, limit);
    if (size < 0) throw gunzipError(size, maxLength);
    const out = new Uint8Array(size);
    const r = this.#lib.gunzipInto(data, out);
    if (r < 0) throw gunzipError(r, maxLength);
    return out.subarray(0, r);
  }

  /** TS framing; gzip payloads compressed by the library. */
  #encodeTsNativeGzip = (msgs: readonly Message[]): Uint8Array => {
    let any = false;
    for (let i = 0; i < msgs.length; i++) {
      const m = msgs[i];
      if (m.compressType === CompressType.Gzip && m.payload.byteLength > 0) {
        any = true;
        break;
      }
    }
    if (!any) return encodeMessages(msgs);
    const prepared = new Array<PreparedMessage>(msgs.length);
    let total = 0;
    for (let i = 0; i < msgs.length; i++) {
      const m = msgs[i];
      let p: PreparedMessage;
      if (m.compressType === CompressType.Gzip && m.payload.byteLength > 0) {
        // Measure as an uncompressed message carrying the gzip bytes, then write with the
        // real message so the header says gzip.
        const asRaw = prepareMessage({
          ...m,
          compressType: CompressType.None,
          payload: this.gzip(m.payload),
        });
        p = { ...asRaw, message: m };
      } else {
        p = prepareMessage(m);
      }
      prepared[i] = p;
      total += p.frameLength;
    }
    const buf = new Uint8Array(total);
    let o = 0;
    for (let i = 0; i < prepared.length; i++) o = writeMessage(prepared[i], buf, o);
    return buf;
  };

  #growBlob(used: number, need: number): Uint8Array<ArrayBuffer> {
    const next = new Uint8Array(Math.max(need, this.#blob.byteLength * 2));
    next.set(this.#blob.subarray(0, used));
    this.#blob = next;
    return next;
  }

  /** Native framing: TS fills a descriptor and a blob, the library assembles the frames. */
  #encodeNative = (msgs: readonly Message[]): Uint8Array => {
    const count = msgs.length;
    if (this.#d32.length < count * DESCRIPTOR_WORDS) {
      this.#desc = new ArrayBuffer(count * DESCRIPTOR_WORDS * 4 * 2);
      this.#d32 = new Uint32Array(this.#desc);
      this.#d64 = new BigUint64Array(this.#desc);
      this.#dBytes = new Uint8Array(this.#desc);
    }
    const d32 = this.#d32;
    const d64 = this.#d64;
    let blob = this.#blob;
    let b = 0;
    let outLength = 0;
    // (message index, payload) pairs of payloads copied by TS into holes after the call.
    let external: (number | Uint8Array)[] | undefined;
    for (let i = 0; i < count; i++) {
      const m = msgs[i];
      const w = i * DESCRIPTOR_WORDS;
      const ct = m.compressType;
      if (ct !== CompressType.None && ct !== CompressType.Gzip) {
        throw new MalformedFrameError(`unknown compress type ${ct}`);
      }
      d64[w >>> 1] = m.seq;
      d32[w + 2] = (m.version & 0xff) | ((flagsByte(m) & 0xff) << 8) |
        (((m.serializeType & 0x0f) << 4) << 16);
      const path = m.servicePath;
      const method = m.serviceMethod;
      if (blob.byteLength - b < 3 * (path.length + method.length)) {
        blob = this.#growBlob(b, b + 3 * (path.length + method.length));
      }
      let n = writeUtf8(path, blob, b);
      d32[w + 3] = n;
      b += n;
      n = writeUtf8(method, blob, b);
      d32[w + 4] = n;
      b += n;
      const metaStart = b;
      const meta = m.metadata;
      for (const key in meta) {
        const value = meta[key];
        if (value === undefined) continue;
        const v = String(value);
        if (blob.byteLength - b < 8 + 3 * (key.length + v.length)) {
          blob = this.#growBlob(b, b + 8 + 3 * (key.length + v.length));
        }
        n = writeUtf8(key, blob, b + 4);
        putU32(blob, b, n);
        b += 4 + n;
        n = writeUtf8(v, blob, b + 4);
        putU32(blob, b, n);
        b += 4 + n;
      }
      const metaLength = b - metaStart;
      d32[w + 5] = metaLength;
      let payload = m.payload;
      let pl = payload.byteLength;
      let gzipHere = ct === CompressType.Gzip && pl > 0;
      let opts = GZIP_LEVEL;
      if (gzipHere && pl >= this.gzipNativeBelow) {
        // Large: gzipped by node:zlib (faster there), then handled as an external payload.
        payload = compressPayload(payload, CompressType.Gzip);
        pl = payload.byteLength;
        gzipHere = false;
        opts = PAYLOAD_EXTERNAL | PAYLOAD_PRECOMPRESSED;
      } else if (pl >= EXTERNAL_PAYLOAD && !gzipHere) {
        // Left as a hole the library reports; copied once, straight into the output.
        opts = PAYLOAD_EXTERNAL;
      }
      d32[w + 6] = pl;
      d32[w + 7] = opts;
      if (opts & PAYLOAD_EXTERNAL) {
        (external ??= []).push(i, payload);
      } else {
        if (blob.byteLength - b < pl) blob = this.#growBlob(b, b + pl);
        blob.set(payload, b);
        b += pl;
      }
      outLength += HEADER_LENGTH + 16 + d32[w + 3] + d32[w + 4] + metaLength +
        (gzipHere ? gzipBound(pl) : pl);
    }
    if (outLength > NATIVE_MAX_LENGTH) {
      // Beyond the native ABI's lengths: the reference encoder handles it.
      if (blob.byteLength > KEEP_SCRATCH) this.#blob = new Uint8Array(64 * 1024);
      return encodeMessages(msgs);
    }
    const out = new Uint8Array(outLength);
    const r = this.#lib.encodeBatch(
      this.#dBytes.subarray(0, count * DESCRIPTOR_WORDS * 4),
      blob.subarray(0, b),
      out,
    );
    if (blob.byteLength > KEEP_SCRATCH) this.#blob = new Uint8Array(64 * 1024);
    if (r < 0) throw new NativeCodecError("encode", r);
    if (external) {
      for (let k = 0; k < external.length; k += 2) {
        const i = external[k] as number;
        out.set(external[k + 1] as Uint8Array, d32[i * DESCRIPTOR_WORDS + 7]);
      }
    }
    return r === outLength ? out : out.subarray(0, r);
  };
}

function gunzipError(code: number, maxLength: number): Error {
  if (code === NativeErrorCode.OutputFull || code === NativeErrorCode.Limit) {
    return new DecompressionError(`decompressed size exceeds the limit of ${maxLength} bytes`);
  }
  if (code === NativeErrorCode.BadData) return new DecompressionError("invalid gzip data");
  return new NativeCodecError("gunzip", code);
}
