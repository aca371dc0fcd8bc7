/**
 * Native libraries on Deno: `Deno.dlopen`, after a permission query (an ungranted `--allow-ffi`
 * fails at once unless the caller asked explicitly, which may prompt). Symbols are Deno's own
 * functions, unwrapped: synchronous calls with buffer and number parameters take V8's fast-call
 * path.
 *
 * @module
 */
import { NativeCodecUnavailableError } from "../../native/backend.ts";
import { libraryFileName } from "../../runtime/library_file.ts";
import type { Ffi, FfiLibrary, FfiSymbols } from "../../runtime/types.ts";
import { deno, type DenoForeignFunction, type DenoPermissionState } from "./_deno.ts";

/** The Deno adapter's FFI. */
export const denoFfi: Ffi = {
  libraryFileName(name: string): string {
    return libraryFileName(deno().build.os, name);
  },
  open(path: string, symbols: FfiSymbols, explicit: boolean): FfiLibrary {
    const D = deno();
    let state: DenoPermissionState;
    try {
      state = D.permissions.querySync({ name: "ffi", path }).state;
    } catch {
      state = "denied";
    }
    if (state === "denied" || (state === "prompt" && !explicit)) {
      throw new NativeCodecUnavailableError(
        "permission",
        `ffi access to ${path} is not granted (run with --allow-ffi)`,
        path,
      );
    }
    const defs: Record<string, DenoForeignFunction> = {};
    for (const [name, s] of Object.entries(symbols)) {
      defs[name] = { parameters: s.parameters, result: s.result, nonblocking: false };
    }
    try {
      const lib = D.dlopen(path, defs);
      return { symbols: lib.symbols as FfiLibrary["symbols"], close: () => lib.close() };
    } catch (e) {
      const denied = e instanceof D.errors.NotCapable || e instanceof D.errors.PermissionDenied;
      throw new NativeCodecUnavailableError(
        denied ? "permission" : "load-failed",
        `cannot load ${path}: ${(e as Error).message ?? e}`,
        path,
        { cause: e },
      );
    }
  },
};
