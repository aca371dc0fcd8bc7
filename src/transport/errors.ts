/**
 * Typed errors of the transport layer: what went wrong when dialing or accepting.
 *
 * @module
 */
import { RpcxError } from "../protocol/errors.ts";

/**
 * A connection could not be made. The Client wraps it as the `cause` of its `ConnectionError`.
 *
 * @example
 * ```ts
 * import { DialError } from "@rpcx/core";
 * console.log(new DialError("tcp@127.0.0.1:1", "no route").message);
 * ```
 */
export class DialError extends RpcxError {
  /** `network@address` dialed. */
  readonly address: string;
  /** Creates the error for `address` with what went wrong. */
  constructor(address: string, detail: string, options?: ErrorOptions) {
    super(`dial ${address}: ${detail}`, options);
    this.address = address;
  }
}

/**
 * Nothing listens at the address (TCP RST, no such socket file, no such in-process server). An
 * XClient takes such a server out at once and tries it again later.
 *
 * @example
 * ```ts
 * import { ConnectionRefusedError } from "@rpcx/core";
 * console.log(new ConnectionRefusedError("tcp@127.0.0.1:1").message);
 * ```
 */
export class ConnectionRefusedError extends DialError {
  /** Creates the error for `address`. */
  constructor(address: string, options?: ErrorOptions) {
    super(address, "connection refused", options);
  }
}

/**
 * The dial took longer than its timeout.
 *
 * @example
 * ```ts
 * import { DialTimeoutError } from "@rpcx/core";
 * console.log(new DialTimeoutError("tcp@10.0.0.1:8972", 1000).message);
 * ```
 */
export class DialTimeoutError extends DialError {
  /** The timeout in ms. */
  readonly timeout: number;
  /** Creates the error for `address` and the timeout in ms. */
  constructor(address: string, timeout: number) {
    super(address, `timed out after ${timeout} ms`);
    this.timeout = timeout;
  }
}

/**
 * The TLS handshake failed: a certificate not trusted or not for that name, a peer that does not
 * speak TLS, a client certificate missing or refused.
 *
 * @example
 * ```ts
 * import { TlsHandshakeError } from "@rpcx/core";
 * console.log(new TlsHandshakeError("tcp@127.0.0.1:8972", "invalid peer certificate").message);
 * ```
 */
export class TlsHandshakeError extends DialError {
  /** Creates the error for `address` with the TLS library's reason. */
  constructor(address: string, detail: string, options?: ErrorOptions) {
    super(address, `TLS handshake failed: ${detail}`, options);
  }
}

/**
 * The peer did not complete the HTTP CONNECT or WebSocket upgrade as rpcx expects.
 *
 * @example
 * ```ts
 * import { UpgradeError } from "@rpcx/core";
 * console.log(new UpgradeError("http@127.0.0.1:8972", "HTTP/1.0 405 Method Not Allowed").message);
 * ```
 */
export class UpgradeError extends DialError {
  /** Creates the error for `address` with what the peer answered. */
  constructor(address: string, detail: string) {
    super(address, `unexpected answer: ${detail}`);
  }
}
