/**
 * Pluggable wire codec: frame encoding of a connection's write queue and gzip, either in pure
 * TypeScript (the reference) or through the optional native library `librpcx_native` (the Rust
 * crate in `native/`, loaded through the runtime seam's FFI: Deno, or Bun with `bun:ffi`; on
 * Node, which has no FFI, auto mode serves with TypeScript, silently).
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
import { localBuildPath, NATIVE_ABI_VERSION, NativeLibrary } from "./ffi.ts";
import {
  NativeCodecUnavailableError,
  type WireCodecBackend,
  type WireCodecMode,
  type WireImplementation,
  type WireOperation,
} from "./backend.ts";
import { TS_BACKEND, TsWireCodec } from "./_ts_backend.ts";
import { NativeWireCodec } from "./_native_backend.ts";
import { runtime } from "../runtime/mod.ts";

export {
  NativeCodecError,
  NativeCodecUnavailableError,
  type NativeUnavailableReason,
  type WireCodecBackend,
  type WireCodecMode,
  type WireImplementation,
  type WireOperation,
} from "./backend.ts";

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
 * import { AUTO_IMPLEMENTATIONS } from "@rpcx/core/native";
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
 * import { AUTO_GZIP_NATIVE_BELOW } from "@rpcx/core/native";
 * console.log(AUTO_GZIP_NATIVE_BELOW); // 32768
 * ```
 */
export const AUTO_GZIP_NATIVE_BELOW = 32 * 1024;

// ---------------------------------------------------------------------------------------------
// Loading
// ---------------------------------------------------------------------------------------------

type Loaded = { lib: NativeLibrary } | { error: NativeCodecUnavailableError };

const loadCache = new Map<string, Loaded>();

/** `RPCX_NATIVE_LIB`, read only when allowed (Deno: `--allow-env`): never prompts. */
function envLibraryPath(): string | undefined {
  return runtime().process.env("RPCX_NATIVE_LIB") || undefined;
}

function resolvePath(options: LoadWireCodecOptions): string | undefined {
  return options.libraryPath ?? envLibraryPath() ?? localBuildPath();
}

function openLibrary(path: string | undefined, explicit: boolean): Loaded {
  if (runtime().ffi === undefined) {
    const detail = `the ${runtime().name} runtime has no FFI`;
    return { error: new NativeCodecUnavailableError("unsupported", detail, path) };
  }
  if (path === undefined) {
    return {
      error: new NativeCodecUnavailableError(
        "no-path",
        "set RPCX_NATIVE_LIB or pass libraryPath (the module is not loaded from a file)",
      ),
    };
  }
  const cached = loadCache.get(path);
  if (cached) return cached;
  let result: Loaded;
  try {
    // Auto mode never triggers a permission prompt; explicit native mode may.
    const lib = NativeLibrary.open(path, explicit);
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
    const error = e instanceof NativeCodecUnavailableError
      ? e
      : new NativeCodecUnavailableError("load-failed", `cannot load ${path}: ${e}`, path, {
        cause: e,
      });
    // Permission errors are not cached: a later call may run with the permission granted.
    if (error.reason === "permission") return { error };
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
 * import { loadWireCodec } from "@rpcx/core/native";
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
