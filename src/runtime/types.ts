/**
 * The runtime seam's contract: what the core needs from the JavaScript runtime it runs on
 * (Deno, Node or Bun), so that no file outside `src/adapter/` names a runtime's own API.
 * Each runtime implements it once, in `src/adapter/<runtime>/` (hono's layout);
 * {@linkcode "./mod.ts".runtime} picks the one the process runs on.
 *
 * This step of the seam covers timers, the process (signals, exit, arguments, environment,
 * OS) and the native library (FFI). Sockets, TLS and the HTTP server join it in later steps.
 *
 * @module
 */

/** Which runtime an adapter is for. */
export type RuntimeName = "deno" | "node" | "bun";

/** What `setTimeout`/`setInterval` return on the runtime in use (an object on all three). */
export type TimerHandle = ReturnType<typeof setTimeout>;

/** Timers that need not keep the process alive. */
export interface Timers {
  /** The timer no longer keeps the process alive (it still fires while something else does). */
  unref(timer: TimerHandle): void;
  /** Undoes {@linkcode Timers.unref}: the timer keeps the process alive again. */
  ref(timer: TimerHandle): void;
}

/** A signal that asks the process to stop. */
export type TermSignal = "SIGINT" | "SIGTERM";

/** The process the code runs in. */
export interface ProcessApi {
  /**
   * Calls `handler` on each of `signals` (a signal the OS does not have, such as SIGTERM on
   * Windows, is skipped). Returns a function that removes the handler again (repeat calls do
   * nothing).
   */
  onSignals(signals: readonly TermSignal[], handler: () => void): () => void;
  /** Ends the process with exit status `code`. */
  exit(code: number): never;
  /** The command-line arguments after the script's own name. */
  args(): string[];
  /**
   * The environment variable `name`, or `undefined` when it is unset or (Deno) reading it is
   * not allowed. Never asks for a permission.
   */
  env(name: string): string | undefined;
  /** The OS, as Deno's `Deno.build.os` names it: "linux", "darwin", "windows", ... */
  os(): string;
}

/** A parameter or result type of a native symbol. */
export type FfiType = "u32" | "i32" | "buffer";

/** The symbols to bind: name → parameter types and result type (all calls are synchronous). */
export type FfiSymbols = Record<
  string,
  { readonly parameters: readonly FfiType[]; readonly result: FfiType }
>;

/** A native library opened by {@linkcode Ffi.open}. */
export interface FfiLibrary {
  /** The bound symbols: buffers are passed as `Uint8Array`, integers as numbers. */
  readonly symbols: Record<string, (...args: (number | Uint8Array)[]) => number>;
  /** Closes the library; its symbols must not be called afterwards. */
  close(): void;
}

/** Native libraries (C ABI), on runtimes that can load them (Deno, Bun). */
export interface Ffi {
  /** The library file name this OS uses for `name`: `lib<name>.so`, `lib<name>.dylib`, `<name>.dll`. */
  libraryFileName(name: string): string;
  /**
   * Opens the library at `path` and binds `symbols`. With `explicit` false it never asks for a
   * permission (Deno: an ungranted `--allow-ffi` fails at once); with `explicit` true Deno may
   * prompt. Throws `NativeCodecUnavailableError` (`@rpcx/core/native`) with reason
   * `permission` (not allowed: Deno without `--allow-ffi`; not cached, a later call may have the
   * permission) or `load-failed` (missing file or symbol, not a library, ...; `cause` is the
   * runtime's error).
   */
  open(path: string, symbols: FfiSymbols, explicit: boolean): FfiLibrary;
}

/** One runtime's implementation of the seam. */
export interface Runtime {
  /** Which runtime this is. */
  readonly name: RuntimeName;
  /** Timer (un)referencing. */
  readonly timers: Timers;
  /** Signals, exit, arguments, environment, OS. */
  readonly process: ProcessApi;
  /** Native libraries; `undefined` where the runtime has no FFI (Node). */
  readonly ffi: Ffi | undefined;
}
