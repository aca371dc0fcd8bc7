/**
 * The runtime seam on Node (node: built-ins only: sockets on node:net/node:tls; no FFI).
 *
 * @module
 */
import type { Runtime } from "../../runtime/types.ts";
import { nodeProcess } from "./process.ts";
import { nodeSockets } from "./sockets.ts";
import { nodeTimers } from "./timers.ts";

/** Node's implementation of the seam. */
export const nodeRuntime: Runtime = {
  name: "node",
  sockets: nodeSockets,
  timers: nodeTimers,
  process: nodeProcess,
  ffi: undefined,
};
