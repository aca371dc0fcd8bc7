/**
 * Go's encoding/json rules moved to `src/_internal/go/json.ts`; this re-export keeps
 * `http/jsonrpc.ts` building until its import names the new home (then this file goes).
 *
 * @module
 */
export * from "../_internal/go/json.ts";
