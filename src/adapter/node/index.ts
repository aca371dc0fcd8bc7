/**
 * The runtime seam on Node (node: built-ins only; no FFI).
 *
 * @module
 */
import type { Runtime } from "../../runtime/types.ts";
import { nodeProcess } from "./process.ts";
import { nodeTimers } from "./timers.ts";

/** Node's implementation of the seam. */
export const nodeRuntime: Runtime = {
  name: "node",
  timers: nodeTimers,
  process: nodeProcess,
  ffi: undefined,
};
