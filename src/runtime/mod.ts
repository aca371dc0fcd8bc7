/**
 * The runtime seam: {@linkcode runtime} returns the implementation of {@linkcode Runtime} for
 * the runtime this process runs on — Bun when `globalThis.Bun` exists, else Deno when
 * `globalThis.Deno` has a version (Deno also has `process`, so it is tested before Node), else
 * Node. Every adapter loads on every runtime: none touches its runtime's globals at load time.
 *
 * @example
 * ```ts
 * import { runtime } from "./mod.ts";
 * const timer = setTimeout(() => console.log("late"), 60_000);
 * runtime().timers.unref(timer); // does not keep the process alive
 * console.log(runtime().name, runtime().process.os());
 * ```
 *
 * @module
 */
import { bunRuntime } from "../adapter/bun/index.ts";
import { denoRuntime } from "../adapter/deno/index.ts";
import { nodeRuntime } from "../adapter/node/index.ts";
import type { Runtime } from "./types.ts";

export type {
  Ffi,
  FfiLibrary,
  FfiSymbols,
  FfiType,
  ModuleMeta,
  NetInterface,
  Permission,
  ProcessApi,
  Runtime,
  RuntimeName,
  SocketConnectOptions,
  SocketListenOptions,
  Sockets,
  SocketTarget,
  StdStream,
  TermSignal,
  TimerHandle,
  Timers,
} from "./types.ts";
export { PermissionError } from "./errors.ts";
export { bunRuntime, denoRuntime, nodeRuntime };

let active: Runtime | undefined;

/** Which built-in adapter fits this process (see the module doc). */
export function detectRuntime(): Runtime {
  const g = globalThis as { Bun?: unknown; Deno?: { version?: unknown } };
  if (g.Bun !== undefined) return bunRuntime;
  if (g.Deno?.version !== undefined) return denoRuntime;
  return nodeRuntime;
}

/**
 * The runtime in use: the one {@linkcode setRuntime} set, else the detected one (detected once).
 *
 * @example
 * ```ts
 * import { runtime } from "./mod.ts";
 * console.log(runtime().name); // "deno" under Deno
 * ```
 */
export function runtime(): Runtime {
  return active ??= detectRuntime();
}

/**
 * Replaces the runtime in use (tests, benchmarks, a runtime of your own); `undefined` goes back
 * to detection.
 *
 * @example
 * ```ts
 * import { nodeRuntime, runtime, setRuntime } from "./mod.ts";
 * setRuntime(nodeRuntime); // Node's adapter, also under Deno (it uses node: built-ins)
 * console.log(runtime().name); // "node"
 * setRuntime(undefined);
 * ```
 */
export function setRuntime(r: Runtime | undefined): void {
  active = r;
}
