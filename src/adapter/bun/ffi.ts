/**
 * Native libraries on Bun: `bun:ffi`'s `dlopen`, loaded with `createRequire` when first used
 * (synchronously, and never on Deno or Node, which have no `bun:ffi`). Buffers are passed as
 * `ptr` parameters, which take a `Uint8Array`.
 *
 * @module
 */
import { createRequire } from "node:module";
import { NativeCodecUnavailableError } from "../../native/backend.ts";
import { libraryFileName } from "../../runtime/library_file.ts";
import type { Ffi, FfiLibrary, FfiSymbols, FfiType } from "../../runtime/types.ts";
import { nodeProcess } from "../node/process.ts";

/** The part of `bun:ffi` used here. */
interface BunFfiModule {
  dlopen(
    path: string,
    symbols: Record<string, { args: string[]; returns: string }>,
  ): { symbols: Record<string, unknown>; close(): void };
}

const BUN_TYPES: Record<FfiType, string> = { u32: "u32", i32: "i32", buffer: "ptr" };

/** The Bun adapter's FFI. */
export const bunFfi: Ffi = {
  libraryFileName(name: string): string {
    return libraryFileName(nodeProcess.os(), name);
  },
  open(path: string, symbols: FfiSymbols, _explicit: boolean): FfiLibrary {
    const defs: Record<string, { args: string[]; returns: string }> = {};
    for (const [name, s] of Object.entries(symbols)) {
      defs[name] = { args: s.parameters.map((t) => BUN_TYPES[t]), returns: BUN_TYPES[s.result] };
    }
    try {
      const ffi = createRequire(import.meta.url)("bun:ffi") as BunFfiModule;
      const lib = ffi.dlopen(path, defs);
      return { symbols: lib.symbols as FfiLibrary["symbols"], close: () => lib.close() };
    } catch (e) {
      throw new NativeCodecUnavailableError(
        "load-failed",
        `cannot load ${path}: ${(e as Error).message ?? e}`,
        path,
        { cause: e },
      );
    }
  },
};
