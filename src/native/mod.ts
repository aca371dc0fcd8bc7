/**
 * The optional native wire codec (`librpcx_native`, the Rust crate in `native/`): the loader
 * {@linkcode loadWireCodec} behind the Server's and Client's `wireCodec` option, its
 * per-operation choices, and the low-level binding {@linkcode NativeLibrary} for benchmarks and
 * diagnostics. The library loads through the runtime's FFI (Deno with `--allow-ffi`; Bun
 * through `bun:ffi`); on Node, which has none, `auto` serves with TypeScript, silently.
 *
 * @example
 * ```ts
 * import { loadWireCodec } from "@rpcx/core/native";
 *
 * const codec = loadWireCodec("auto");
 * console.log(codec.name, codec.fallbackReason ?? "native library in use");
 * ```
 *
 * @module
 */
export {
  AUTO_GZIP_NATIVE_BELOW,
  AUTO_IMPLEMENTATIONS,
  loadWireCodec,
  type LoadWireCodecOptions,
  NativeCodecError,
  NativeCodecUnavailableError,
  type NativeUnavailableReason,
  type WireCodecBackend,
  type WireCodecMode,
  type WireImplementation,
  type WireOperation,
} from "./wire_codec.ts";
export { localBuildPath, NATIVE_ABI_VERSION, NativeLibrary, nativeLibraryFileName } from "./ffi.ts";
