/**
 * The runtime seam on Deno (`Deno.*` APIs; see `_deno.ts` for the members used).
 *
 * @module
 */
import type { Runtime } from "../../runtime/types.ts";
import { denoFfi } from "./ffi.ts";
import { denoProcess } from "./process.ts";
import { denoSockets } from "./sockets.ts";
import { denoTimers } from "./timers.ts";

/** Deno's implementation of the seam. */
export const denoRuntime: Runtime = {
  name: "deno",
  sockets: denoSockets,
  timers: denoTimers,
  process: denoProcess,
  ffi: denoFfi,
};
