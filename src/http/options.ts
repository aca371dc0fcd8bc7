/**
 * The options of the HTTP side of the rpcx port (HTTP invoke and JSON-RPC 2.0) and the bounds it
 * applies, defaults filled in.
 *
 * @module
 */
import type { CorsOptions } from "./cors.ts";
import { DEFAULT_MAX_BATCH_RESPONSE_SIZE, DEFAULT_MAX_BATCH_SIZE } from "./jsonrpc.ts";

/**
 * Options of the HTTP side of the rpcx port (part of `ServerOptions`). Times in ms, sizes in
 * bytes.
 *
 * @example
 * ```ts
 * import { allowAllCorsOptions, Server, type HttpOptions } from "@rpcx/core";
 * const options: HttpOptions = { cors: allowAllCorsOptions(), headersTimeout: 5000 };
 * new Server(options);
 * ```
 */
export interface HttpOptions {
  /** Turn HTTP invoke off (Go's `DisableHTTPGateway`). */
  disableHTTPGateway?: boolean;
  /** Turn JSON-RPC 2.0 off (Go's `DisableJSONRPC`). */
  disableJSONRPC?: boolean;
  /** Answer CORS (Go's `SetCORS`); off when not given. */
  cors?: CorsOptions;
  /** A request's headers must arrive within this long of its first byte (default 10 000). */
  headersTimeout?: number;
  /** A request's body must arrive within this long of its headers (default 30 000). */
  requestTimeout?: number;
  /** An idle keep-alive connection is closed after this long (default 60 000). */
  keepAliveTimeout?: number;
  /** Largest request head, request line and headers (default 16 KiB; larger gets 431). */
  maxHeaderSize?: number;
  /**
   * Most members of one JSON-RPC batch (default {@linkcode DEFAULT_MAX_BATCH_SIZE}, 1000, as
   * go-ethereum); a larger batch gets one -32600 "batch too large" error and none of it runs.
   * 0 turns the bound off.
   */
  maxBatchSize?: number;
  /**
   * Most bytes of answers one JSON-RPC batch gathers (default
   * {@linkcode DEFAULT_MAX_BATCH_RESPONSE_SIZE}, 25 MB, as go-ethereum's BatchResponseMaxSize):
   * past it, the members not yet answered get a -32003 "response too large" error and those not
   * yet started do not run. 0 turns the bound off.
   */
  maxBatchResponseSize?: number;
}

/**
 * The bounds the HTTP side of a server applies, defaults filled in (`Server.httpLimits`). Times
 * in ms, sizes in bytes.
 *
 * @example
 * ```ts
 * import { Server } from "@rpcx/core";
 * import type { HttpLimits } from "@rpcx/core/extend";
 * const limits: HttpLimits = new Server({ maxBatchSize: 100 }).httpLimits;
 * console.log(limits.maxBatchSize, limits.requestTimeout); // 100 30000
 * ```
 */
export interface HttpLimits {
  /** Largest request head (431 beyond). */
  readonly maxHeaderSize: number;
  /** Time for a request's head, from its first byte (408). */
  readonly headersTimeout: number;
  /** Time for a request's body, from its head (408). */
  readonly requestTimeout: number;
  /** Idle time after which a keep-alive connection is closed. */
  readonly keepAliveTimeout: number;
  /** Most members of one JSON-RPC batch (0: no bound). */
  readonly maxBatchSize: number;
  /** Most bytes of answers to one JSON-RPC batch (0: no bound). */
  readonly maxBatchResponseSize: number;
  /** Largest request body (the server's `maxMessageLength`; 413 beyond). */
  readonly maxBodyLength: number;
}

/** What the server tells the HTTP side besides its options. */
export interface HttpServerSettings extends HttpOptions {
  /** Largest request body (the server's `maxMessageLength`; larger gets 413). */
  maxBodyLength: number;
}

/** The bounds of `settings`, defaults filled in. */
export function httpLimits(settings: HttpServerSettings): HttpLimits {
  return {
    maxHeaderSize: settings.maxHeaderSize ?? 16 * 1024,
    headersTimeout: settings.headersTimeout ?? 10_000,
    requestTimeout: settings.requestTimeout ?? 30_000,
    keepAliveTimeout: settings.keepAliveTimeout ?? 60_000,
    maxBatchSize: settings.maxBatchSize ?? DEFAULT_MAX_BATCH_SIZE,
    maxBatchResponseSize: settings.maxBatchResponseSize ?? DEFAULT_MAX_BATCH_RESPONSE_SIZE,
    maxBodyLength: settings.maxBodyLength,
  };
}
