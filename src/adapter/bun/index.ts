/**
 * The runtime seam on Bun: Node's adapter (Bun implements the node: built-ins it uses) with
 * `bun:ffi` for the native library.
 *
 * @module
 */
import type { Runtime } from "../../runtime/types.ts";
import { nodeRuntime } from "../node/index.ts";
import { bunFfi } from "./ffi.ts";

/** Bun's implementation of the seam. */
export const bunRuntime: Runtime = { ...nodeRuntime, name: "bun", ffi: bunFfi };
