/**
 * Go's `http.DetectContentType` moved to `src/_internal/go/content_type.ts`; this re-export keeps
 * `gateway.ts` and `jsonrpc.ts` building until their imports name the new home (then this file
 * goes).
 *
 * @module
 */
export { detectContentType } from "../_internal/go/content_type.ts";
