/**
 * JSON-RPC 2.0 over HTTP on the rpcx port (requests with `X-JSONRPC-2.0: true`), answered as Go
 * rpcx's `server/jsonrpc2.go` answers: `method` is `Service.Method`, `params` the JSON payload,
 * `result` the JSON reply; Go's error codes and texts. Batches (a JSON array) are answered too;
 * Go rpcx answers them with a parse error.
 *
 * This file holds the public names (codes, header, batch bounds); the handling is in
 * `_jsonrpc_handler.ts` (one request), `_jsonrpc_batch.ts` (batches) and `_jsonrpc_text.ts`
 * (the JSON text both ways, as Go's encoding/json).
 *
 * @module
 */
import type { FirstHeaders } from "./gateway.ts";

/**
 * JSON-RPC 2.0 error codes, as Go rpcx defines them (`server.CodeParseJSONRPCError` …).
 *
 * @example
 * ```ts
 * import { JsonRpcErrorCode } from "@rpcx/core/protocol";
 * console.log(JsonRpcErrorCode.MethodNotFound); // -32601
 * ```
 */
export const JsonRpcErrorCode = {
  /** Errors without a code of their own. */
  Unknown: -32001,
  /** The body is not valid JSON, or not a request object. */
  Parse: -32700,
  /** Not a valid request object. */
  InvalidRequest: -32600,
  /** `method` is not `Service.Method`. */
  MethodNotFound: -32601,
  /** Invalid method parameters. */
  InvalidParams: -32602,
  /** The call failed (Go uses this for every service, plugin and auth error). */
  Internal: -32603,
} as const;

/** The header that marks a JSON-RPC 2.0 request on the rpcx port. */
export const JSONRPC_HEADER = "X-JSONRPC-2.0";

/**
 * Most members a JSON-RPC batch may have (`maxBatchSize` default): go-ethereum's
 * `BatchRequestLimit`. A larger batch is answered with one -32600 "batch too large" error.
 */
export const DEFAULT_MAX_BATCH_SIZE = 1000;

/**
 * Most bytes of answers one JSON-RPC batch may gather (`maxBatchResponseSize` default):
 * go-ethereum's `BatchResponseMaxSize`, 25 MB. Once past it, the members not yet answered get a
 * -32003 "response too large" error each and those not yet started do not run.
 */
export const DEFAULT_MAX_BATCH_RESPONSE_SIZE = 25_000_000;

/** Whether an HTTP request is JSON-RPC 2.0 (Go matches the header value exactly). */
export function isJsonRpc(headers: FirstHeaders): boolean {
  return headers.get(JSONRPC_HEADER.toLowerCase()) === "true";
}
