/**
 * Errors a call can end with.
 *
 * @module
 */
import { RpcxError } from "../protocol/errors.ts";

/**
 * The server answered with an error (`__rpcx_error__`); the message is its text, as Go shows it.
 * Never retried by fail modes.
 *
 * @example
 * ```ts
 * import { ServiceError } from "@rpcx/core";
 * const e = new ServiceError("rpcx: can't find method Div");
 * console.log(e.message); // "rpcx: can't find method Div"
 * ```
 */
export class ServiceError extends RpcxError {
  /** Reply metadata sent with the error. */
  readonly metadata: Record<string, string>;
  /** Creates the error with the server's text. */
  constructor(message: string, metadata: Record<string, string> = {}) {
    super(message);
    this.metadata = metadata;
  }
}

/**
 * The transport failed: could not connect, or the connection broke. Fail modes retry these.
 *
 * @example
 * ```ts
 * import { ConnectionError } from "@rpcx/core";
 * console.log(new ConnectionError("dial tcp 127.0.0.1:1: connection refused") instanceof Error);
 * ```
 */
export class ConnectionError extends RpcxError {}

/**
 * The connection closed while the call waited for its reply.
 *
 * @example
 * ```ts
 * import { ConnectionClosedError, ConnectionError } from "@rpcx/core";
 * console.log(new ConnectionClosedError() instanceof ConnectionError); // true
 * ```
 */
export class ConnectionClosedError extends ConnectionError {
  /** Creates the error ("connection is shut down", as Go says). */
  constructor(detail = "connection is shut down", options?: ErrorOptions) {
    super(detail, options);
  }
}

/**
 * No reply within the call's timeout.
 *
 * @example
 * ```ts
 * import { CallTimeoutError } from "@rpcx/core";
 * console.log(new CallTimeoutError(100).message);
 * ```
 */
export class CallTimeoutError extends RpcxError {
  /** The timeout in ms. */
  readonly timeout: number;
  /** Creates the error for a timeout in ms. */
  constructor(timeout: number) {
    super(`rpcx: call timed out after ${timeout} ms`);
    this.timeout = timeout;
  }
}

/**
 * The caller's AbortSignal fired. `cause` holds the signal's reason.
 *
 * @example
 * ```ts
 * import { CallAbortedError } from "@rpcx/core";
 * console.log(new CallAbortedError("stop").message);
 * ```
 */
export class CallAbortedError extends RpcxError {
  /** Creates the error with the abort reason. */
  constructor(reason: unknown) {
    super(`rpcx: call aborted${reason instanceof Error ? `: ${reason.message}` : ""}`, {
      cause: reason,
    });
  }
}

/**
 * No server is available for the service (none discovered, all filtered out, or all down).
 * When the discovery cannot reach its registry (its last `"outage"` event, not yet
 * `"recovered"`), `XClient` says so after Go's text and gives the registry's error as `cause`.
 *
 * @example
 * ```ts
 * import { NoServerAvailableError } from "@rpcx/core";
 * console.log(new NoServerAvailableError("Arith").message);
 * // "rpcx: no server available for Arith (can not found any server)"
 * ```
 */
export class NoServerAvailableError extends RpcxError {
  /** Creates the error for a service path; `detail` is appended to the message. */
  constructor(servicePath: string, detail = "", options?: ErrorOptions) {
    super(
      `rpcx: no server available for ${servicePath} (can not found any server)${detail}`,
      options,
    );
  }
}

/**
 * Servers are listed but the selector chose none of them (e.g. a
 * {@linkcode SelectMode.SelectByUser} selector returned `undefined`). A subclass of
 * {@linkcode NoServerAvailableError}, so code catching that one still does, but its message
 * says how many servers there were instead of claiming none was found.
 *
 * @example
 * ```ts
 * import { NoServerSelectedError } from "@rpcx/core";
 * console.log(new NoServerSelectedError("Arith", 2).message);
 * // "rpcx: the selector chose none of the 2 servers of Arith"
 * ```
 */
export class NoServerSelectedError extends NoServerAvailableError {
  /** How many servers the selector had. */
  readonly servers: number;
  /** Creates the error for a service path and the number of servers listed. */
  constructor(servicePath: string, servers: number) {
    super(servicePath);
    this.message = `rpcx: the selector chose none of the ${servers} servers of ${servicePath}`;
    this.servers = servers;
  }
}

/**
 * The client was closed: a call made after `close()`, and every call still pending when
 * `close()` was called (rejected at once, never retried or sent again by any fail mode). Not a
 * {@linkcode ConnectionError}, so fail modes never retry it. Go: `ErrXClientShutdown` ("xClient is
 * shut down") of an `XClient`, `ErrShutdown` of a `Client`.
 *
 * @example
 * ```ts
 * import { ClientClosedError } from "@rpcx/core";
 * console.log(new ClientClosedError().message); // "xClient is shut down"
 * ```
 */
export class ClientClosedError extends RpcxError {
  /** Creates the error; `message` defaults to Go's text for a closed XClient. */
  constructor(message = "xClient is shut down") {
    super(message);
  }
}

/**
 * Whether an error is a transport failure that fail modes may retry on another try.
 *
 * @example
 * ```ts
 * import { isRetryable, ConnectionError, ServiceError } from "@rpcx/core";
 * console.log(isRetryable(new ConnectionError("x")), isRetryable(new ServiceError("y"))); // true false
 * ```
 */
export function isRetryable(error: unknown): boolean {
  return error instanceof ConnectionError;
}
