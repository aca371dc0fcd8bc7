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

/**
 * Go's text for the system errors a socket meets (Linux `strerror`, as Go's `syscall.Errno`
 * prints them), by errno name. The runtime adapters map their own errors to these names.
 */
export const GO_ERRNO_TEXT: Readonly<Record<string, string>> = {
  EADDRINUSE: "address already in use",
  EADDRNOTAVAIL: "cannot assign requested address",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  ENOENT: "no such file or directory",
  ECONNRESET: "connection reset by peer",
  EPIPE: "broken pipe",
  ECONNABORTED: "software caused connection abort",
  ETIMEDOUT: "connection timed out",
};

/** Why listening failed: {@linkcode ListenError.reason}. */
export type ListenFailure = "in-use" | "unavailable" | "denied" | "other";

/** The reason an errno name gives a failed listen. */
const LISTEN_REASON: Readonly<Record<string, ListenFailure>> = {
  EADDRINUSE: "in-use",
  EADDRNOTAVAIL: "unavailable",
  EACCES: "denied",
  EPERM: "denied",
};

/**
 * Listening failed: the address is in use (`reason` "in-use"), not one of this machine's
 * (`unavailable`), not allowed (`denied`: a port below 1024 without the right, or Deno without
 * `--allow-net`), or something else (`other`: a socket path in a missing folder, ...). The
 * message is Go's: `listen tcp 127.0.0.1:8972: bind: address already in use` (http, ws and wss
 * listen on tcp, as in Go; unix: `listen unix /tmp/rpcx.sock: bind: address already in use`).
 * `cause` is the runtime's own error. `Server.serve` rejects with it.
 *
 * @example
 * ```ts
 * import { ListenError, Server } from "@rpcx/core";
 * const first = new Server();
 * const address = await first.serve("tcp", "127.0.0.1:0");
 * try {
 *   await new Server().serve("tcp", address);
 * } catch (e) {
 *   if (e instanceof ListenError) console.log(e.reason, e.message); // in-use listen tcp ...
 * }
 * await first.close();
 * ```
 */
export class ListenError extends RpcxError {
  /** The network listened on, as Go names it in the message (`tcp`, `unix`, ...). */
  readonly network: string;
  /** The address asked for. */
  readonly address: string;
  /** Why it failed. */
  readonly reason: ListenFailure;

  /**
   * Creates the error. `detail` is what failed (Go: `bind: address already in use`); by default
   * Go's text for `reason`.
   */
  constructor(
    network: string,
    address: string,
    reason: ListenFailure,
    detail?: string,
    options?: ErrorOptions,
  ) {
    super(
      `listen ${network} ${address}: ${detail ?? listenDetail(reason)}`,
      options,
    );
    this.network = network;
    this.address = address;
    this.reason = reason;
  }

  /**
   * The error for a failed `bind`/`listen` whose system error is `errno` (`EADDRINUSE`, ...), as
   * Go words it; `runtimeMessage` is used when Go has no text for it.
   */
  static fromErrno(
    network: string,
    address: string,
    errno: string | undefined,
    runtimeMessage: string,
    options?: ErrorOptions,
  ): ListenError {
    const text = errno === undefined ? undefined : GO_ERRNO_TEXT[errno];
    return new ListenError(
      network,
      address,
      (errno && LISTEN_REASON[errno]) || "other",
      text ? `bind: ${text}` : runtimeMessage,
      options,
    );
  }
}

function listenDetail(reason: ListenFailure): string {
  switch (reason) {
    case "in-use":
      return `bind: ${GO_ERRNO_TEXT.EADDRINUSE}`;
    case "unavailable":
      return `bind: ${GO_ERRNO_TEXT.EADDRNOTAVAIL}`;
    case "denied":
      return `bind: ${GO_ERRNO_TEXT.EACCES}`;
  }
  return "failed";
}

/** Which end of a socket operation a {@linkcode SocketError} names. */
export interface SocketErrorInfo {
  /** `read` or `write`. */
  op: "read" | "write";
  /** The connection's network (`tcp`, `unix`, ...). */
  network: string;
  /** Our end. */
  localAddress: string;
  /** The peer's end. */
  remoteAddress: string;
}

/**
 * Reading or writing a connection's socket failed. The message is Go's `*net.OpError` text:
 * `read tcp 127.0.0.1:8972->127.0.0.1:40312: read: connection reset by peer`; `cause` is the
 * runtime's own error. The peer going away is the subclass {@linkcode PeerGoneError}.
 *
 * @example
 * ```ts
 * import { SocketError } from "@rpcx/core";
 * const e = new SocketError(
 *   { op: "read", network: "tcp", localAddress: "127.0.0.1:8972", remoteAddress: "127.0.0.1:40312" },
 *   "read: bad file descriptor",
 * );
 * console.log(e.message); // read tcp 127.0.0.1:8972->127.0.0.1:40312: read: bad file descriptor
 * ```
 */
export class SocketError extends RpcxError {
  /** `read` or `write`. */
  readonly op: "read" | "write";
  /** The connection's network. */
  readonly network: string;
  /** Our end. */
  readonly localAddress: string;
  /** The peer's end. */
  readonly remoteAddress: string;

  /** Creates the error for the operation `info` with what failed (`read: ...`). */
  constructor(info: SocketErrorInfo, detail: string, options?: ErrorOptions) {
    const ends = info.remoteAddress
      ? `${info.localAddress}->${info.remoteAddress}`
      : info.localAddress;
    super(`${info.op} ${info.network} ${ends}: ${detail}`, options);
    this.op = info.op;
    this.network = info.network;
    this.localAddress = info.localAddress;
    this.remoteAddress = info.remoteAddress;
  }
}

/** How the peer went: {@linkcode PeerGoneError.reason}. */
export type PeerGoneReason = "reset" | "broken-pipe" | "aborted" | "timed-out" | "eof";

const PEER_GONE_ERRNO: Readonly<Record<PeerGoneReason, string>> = {
  "reset": "ECONNRESET",
  "broken-pipe": "EPIPE",
  "aborted": "ECONNABORTED",
  "timed-out": "ETIMEDOUT",
  "eof": "",
};

/**
 * The peer went away under a read or write: the connection was reset (`reason` "reset"), the
 * pipe is broken (`broken-pipe`: written after the peer closed), aborted, timed out (TCP
 * keep-alive), or ended in the middle of a write (`eof`). A server does not report it as an error
 * (Go neither); a client fails the calls in flight on that connection. Message as Go's:
 * `write tcp 127.0.0.1:40312->127.0.0.1:8972: write: broken pipe`.
 *
 * @example
 * ```ts
 * import { PeerGoneError } from "@rpcx/core";
 * const e = new PeerGoneError(
 *   { op: "read", network: "tcp", localAddress: "127.0.0.1:8972", remoteAddress: "127.0.0.1:40312" },
 *   "reset",
 * );
 * console.log(e.message); // read tcp 127.0.0.1:8972->127.0.0.1:40312: read: connection reset by peer
 * ```
 */
export class PeerGoneError extends SocketError {
  /** How the peer went. */
  readonly reason: PeerGoneReason;

  /** Creates the error for the operation `info` and how the peer went. */
  constructor(info: SocketErrorInfo, reason: PeerGoneReason, options?: ErrorOptions) {
    const errno = PEER_GONE_ERRNO[reason];
    super(info, errno ? `${info.op}: ${GO_ERRNO_TEXT[errno]}` : "unexpected EOF", options);
    this.reason = reason;
  }
}

/** The {@linkcode PeerGoneReason} of an errno name, if it is one. */
export function peerGoneReason(errno: string | undefined): PeerGoneReason | undefined {
  switch (errno) {
    case "ECONNRESET":
      return "reset";
    case "EPIPE":
      return "broken-pipe";
    case "ECONNABORTED":
      return "aborted";
    case "ETIMEDOUT":
      return "timed-out";
  }
  return undefined;
}

/**
 * The typed error for a failed read or write whose system error is `errno` (`ECONNRESET`, ...):
 * a {@linkcode PeerGoneError} when the peer went, else a {@linkcode SocketError} with the
 * runtime's message. `e` becomes the cause.
 */
export function socketErrorFromErrno(
  e: unknown,
  errno: string | undefined,
  info: SocketErrorInfo,
): SocketError {
  if (e instanceof SocketError) return e;
  const reason = peerGoneReason(errno);
  if (reason) return new PeerGoneError(info, reason, { cause: e });
  const text = errno === undefined ? undefined : GO_ERRNO_TEXT[errno];
  return new SocketError(info, `${info.op}: ${text ?? (e as Error)?.message ?? String(e)}`, {
    cause: e,
  });
}
