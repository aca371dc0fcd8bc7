/**
 * Low-level binding to the optional native library `librpcx_native` (the Rust crate in
 * `native/`), loaded through the runtime seam's FFI (`Deno.dlopen` on Deno, `bun:ffi` on Bun;
 * Node has none). Most code wants {@linkcode loadWireCodec} from `./wire_codec.ts` instead;
 * this module is exported for benchmarks and diagnostics. Loading it touches no runtime API.
 *
 * Every symbol takes buffers and `u32` lengths and returns an `i32`: a byte count, or a
 * negative {@linkcode NativeErrorCode}. All symbols are synchronous (`nonblocking: false`) and
 * use only buffer and number parameters, so Deno calls them through V8's fast-call path.
 *
 * @module
 */
import { NativeCodecUnavailableError } from "./backend.ts";
import { libraryFileName } from "../runtime/library_file.ts";
import { runtime } from "../runtime/mod.ts";
import type { FfiLibrary, FfiSymbols } from "../runtime/types.ts";

/** The C ABI version this binding speaks; the library must report the same. */
export const NATIVE_ABI_VERSION = 1;

/**
 * Negative results of the native functions.
 *
 * @example
 * ```ts
 * import { NativeErrorCode } from "./ffi.ts";
 * console.log(NativeErrorCode.BadData); // -3
 * ```
 */
export const NativeErrorCode = {
  /** A null pointer with a non-zero length, or an argument out of range. */
  Arg: -1,
  /** The output buffer cannot hold the result (for gunzip: the output limit was hit). */
  OutputFull: -2,
  /** Invalid gzip data. */
  BadData: -3,
  /** `gunzipSize`: the decompressed size exceeds the limit. */
  Limit: -4,
  /** `encodeBatch`: the descriptor does not match the blob. */
  Descriptor: -5,
  /** `scanFrames`: a frame breaks the rpcx layout. */
  Frame: -6,
  /** `scanFrames`: a frame is larger than allowed. */
  FrameTooLarge: -7,
  /** The compressor failed unexpectedly. */
  Internal: -8,
} as const;

/** Words (u32) per message in the batch-encode descriptor. */
export const DESCRIPTOR_WORDS = 8;

/**
 * Batch-encode descriptor word 7 flag: the payload is not in the blob; the library leaves a
 * hole for it and writes the hole's offset into word 7.
 */
export const PAYLOAD_EXTERNAL = 0x100;

/**
 * Batch-encode descriptor word 7 flag: the payload is already compressed (the wire bytes); the
 * library does not gzip it again whatever the header flags say.
 */
export const PAYLOAD_PRECOMPRESSED = 0x200;

const SYMBOLS = {
  rpcx_native_abi_version: { parameters: [], result: "u32" },
  rpcx_noop: { parameters: [], result: "u32" },
  rpcx_touch: { parameters: ["buffer", "u32"], result: "i32" },
  rpcx_gzip_bound: { parameters: ["u32"], result: "i32" },
  rpcx_gzip: { parameters: ["buffer", "u32", "buffer", "u32", "i32"], result: "i32" },
  rpcx_gunzip: { parameters: ["buffer", "u32", "buffer", "u32"], result: "i32" },
  rpcx_gunzip_size: { parameters: ["buffer", "u32", "u32"], result: "i32" },
  rpcx_encode_batch: {
    parameters: ["buffer", "u32", "buffer", "u32", "buffer", "u32"],
    result: "i32",
  },
  rpcx_scan_frames: { parameters: ["buffer", "u32", "u32", "buffer", "u32"], result: "i32" },
} as const satisfies FfiSymbols;

type Symbols = Record<keyof typeof SYMBOLS, (...args: (number | Uint8Array)[]) => number>;

/** The largest length the native ABI accepts for one buffer (`i32::MAX`). */
export const NATIVE_MAX_LENGTH = 0x7fff_ffff;

/**
 * The file name of the library on this platform: `librpcx_native.so`, `librpcx_native.dylib`
 * or `rpcx_native.dll`.
 *
 * @example
 * ```ts
 * import { nativeLibraryFileName } from "./ffi.ts";
 * console.log(nativeLibraryFileName()); // "librpcx_native.so" on Linux
 * ```
 */
export function nativeLibraryFileName(): string {
  return libraryFileName(runtime().process.os(), "rpcx_native");
}

/**
 * The local build of the library, `native/target/release/<file>` in this repository, found
 * relative to this module; `undefined` when the module is not loaded from a file.
 *
 * @example
 * ```ts
 * import { localBuildPath } from "./ffi.ts";
 * console.log(localBuildPath()?.endsWith("librpcx_native.so"));
 * ```
 */
export function localBuildPath(): string | undefined {
  const url = new URL(`../../native/target/release/${nativeLibraryFileName()}`, import.meta.url);
  if (url.protocol !== "file:") return undefined;
  return decodeURIComponent(url.pathname);
}

/**
 * The opened native library: thin, checked wrappers over its symbols. Lengths passed to the
 * library are always the real byte lengths of the buffers given.
 *
 * @example
 * ```ts
 * import { NativeLibrary } from "./ffi.ts";
 * try {
 *   const lib = NativeLibrary.open("/path/to/librpcx_native.so");
 *   console.log(lib.abiVersion);
 *   lib.close();
 * } catch (e) {
 *   console.log("not available:", (e as Error).message);
 * }
 * ```
 */
export class NativeLibrary {
  readonly #lib: FfiLibrary;
  readonly #s: Symbols;
  /** The path it was opened from. */
  readonly path: string;
  /** The ABI version the library reports. */
  readonly abiVersion: number;

  private constructor(lib: FfiLibrary, path: string) {
    this.#lib = lib;
    this.#s = lib.symbols as Symbols;
    this.path = path;
    this.abiVersion = this.#s.rpcx_native_abi_version();
  }

  /**
   * Opens the library at `path` through the runtime's FFI. With `explicit` (the default) Deno
   * may prompt for `--allow-ffi`; without it an ungranted permission fails at once. Throws
   * {@linkcode NativeCodecUnavailableError}: `unsupported` on a runtime without FFI (Node),
   * `permission` (Deno without `--allow-ffi`), `load-failed` (missing file or symbol, not a
   * library; `cause` is the runtime's error).
   */
  static open(path: string, explicit = true): NativeLibrary {
    const ffi = runtime().ffi;
    if (ffi === undefined) {
      throw new NativeCodecUnavailableError(
        "unsupported",
        `the ${runtime().name} runtime has no FFI`,
        path,
      );
    }
    return new NativeLibrary(ffi.open(path, SYMBOLS, explicit), path);
  }

  /** Closes the library; the object must not be used afterwards. */
  close(): void {
    this.#lib.close();
  }

  /** Calls the no-op symbol (FFI overhead measurement). */
  noop(): number {
    return this.#s.rpcx_noop();
  }

  /** Calls the one-buffer no-op symbol (FFI overhead measurement); returns `buf.byteLength`. */
  touch(buf: Uint8Array): number {
    return this.#s.rpcx_touch(buf, buf.byteLength);
  }

  /** The largest gzip output for `length` input bytes. */
  gzipBound(length: number): number {
    return this.#s.rpcx_gzip_bound(length);
  }

  /** Gzips `input` into `out`; returns the bytes written or a negative code. */
  gzipInto(input: Uint8Array, out: Uint8Array, level: number): number {
    return this.#s.rpcx_gzip(input, input.byteLength, out, out.byteLength, level);
  }

  /**
   * Gunzips `input` into `out`; returns the bytes written, or a negative code
   * ({@linkcode NativeErrorCode.OutputFull} when the data would not fit).
   */
  gunzipInto(input: Uint8Array, out: Uint8Array): number {
    return this.#s.rpcx_gunzip(input, input.byteLength, out, out.byteLength);
  }

  /** Decompressed size of `input` (constant memory), or a negative code. */
  gunzipSize(input: Uint8Array, limit: number): number {
    return this.#s.rpcx_gunzip_size(input, input.byteLength, limit);
  }

  /**
   * Encodes a batch described by `desc` (see `native/src/lib.rs` `encode_batch`) and `blob`
   * into `out`; returns the bytes written or a negative code. The library writes the payload
   * hole offsets of external payloads back into `desc`.
   */
  encodeBatch(desc: Uint8Array, blob: Uint8Array, out: Uint8Array): number {
    return this.#s.rpcx_encode_batch(
      desc,
      desc.byteLength,
      blob,
      blob.byteLength,
      out,
      out.byteLength,
    );
  }

  /**
   * Scans the complete frames at the start of `buf`, writing (offset, length) u32 pairs into
   * `out`; returns the number of frames or a negative code.
   */
  scanFrames(buf: Uint8Array, maxTotal: number, out: Uint8Array): number {
    return this.#s.rpcx_scan_frames(buf, buf.byteLength, maxTotal, out, out.byteLength);
  }
}
