/**
 * `node:net`/`node:tls` errors (Node, Bun, and Deno's Node layer) as the project's typed errors
 * (`transport/errors.ts`), by their `code` (`EADDRINUSE`, `ECONNRESET`, ...).
 *
 * @module
 */
import {
  ConnectionRefusedError,
  DialError,
  ListenError,
  PeerGoneError,
  type SocketError,
  socketErrorFromErrno,
  type SocketErrorInfo,
} from "../../transport/errors.ts";

/** A `node:net` error's code (`ECONNREFUSED`, `ERR_TLS_CERT_ALTNAME_INVALID`, ...). */
export function errorCode(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | undefined)?.code;
  return typeof code === "string" ? code : undefined;
}

/** A failed `server.listen` as a {@linkcode ListenError}. */
export function nodeListenError(network: string, address: string, e: unknown): ListenError {
  if (e instanceof ListenError) return e;
  const message = (e as Error)?.message ?? String(e);
  return ListenError.fromErrno(network, address, errorCode(e), message, { cause: e });
}

/** Codes of a write to a stream that is already destroyed or ended: the pipe is broken. */
const DESTROYED = new Set(["ERR_STREAM_DESTROYED", "ERR_STREAM_WRITE_AFTER_END", "EPIPE"]);

/** A failed read or write of a `node:net` socket as a {@linkcode SocketError}. */
export function nodeSocketError(e: unknown, info: SocketErrorInfo): SocketError {
  const code = errorCode(e);
  if (code !== undefined && DESTROYED.has(code)) {
    return new PeerGoneError(info, "broken-pipe", { cause: e });
  }
  return socketErrorFromErrno(e, code, info);
}

/** A failed connect as a {@linkcode DialError} (refused: nothing listens there). */
export function nodeDialError(label: string, e: unknown): DialError {
  if (e instanceof DialError) return e;
  const code = errorCode(e);
  if (code === "ECONNREFUSED" || code === "ENOENT") {
    return new ConnectionRefusedError(label, { cause: e });
  }
  return new DialError(label, (e as Error)?.message ?? String(e), { cause: e });
}
