/**
 * Native library file names per OS, shared by the adapters that load libraries.
 *
 * @module
 */

/**
 * The file name the OS `os` (as `Deno.build.os` names it) gives the library `name`:
 * `lib<name>.so`, `lib<name>.dylib` (darwin) or `<name>.dll` (windows).
 *
 * @example
 * ```ts
 * import { libraryFileName } from "./library_file.ts";
 * console.log(libraryFileName("linux", "rpcx_native")); // "librpcx_native.so"
 * ```
 */
export function libraryFileName(os: string, name: string): string {
  switch (os) {
    case "darwin":
      return `lib${name}.dylib`;
    case "windows":
      return `${name}.dll`;
    default:
      return `lib${name}.so`;
  }
}
