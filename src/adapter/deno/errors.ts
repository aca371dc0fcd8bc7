/**
 * Deno's errors as the project's typed errors (`transport/errors.ts`): `Deno.errors.AddrInUse`
 * and its kin by class name (and errors of Deno's Node layer by their `code`) to errno names,
 * then to `ListenError`, `PeerGoneError`/`SocketError`, `ConnectionRefusedError`/`DialError`.
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

/** `Deno.errors` class names → errno names. */
const DENO_ERRNO: Readonly<Record<string, string>> = {
  AddrInUse: "EADDRINUSE",
  AddrNotAvailable: "EADDRNOTAVAIL",
  PermissionDenied: "EACCES",
  NotFound: "ENOENT",
  ConnectionRefused: "ECONNREFUSED",
  ConnectionReset: "ECONNRESET",
  BrokenPipe: "EPIPE",
  ConnectionAborted: "ECONNABORTED",
  TimedOut: "ETIMEDOUT",
};

/** The errno name of a Deno error (its class), or of a Node-layer error (its `code`). */
export function denoErrno(e: unknown): string | undefined {
  const err = e as { name?: unknown; code?: unknown } | undefined;
  const code = err?.code;
  if (typeof code === "string" && code.startsWith("E")) return code;
  return typeof err?.name === "string" ? DENO_ERRNO[err.name] : undefined;
}

/** A failed `Deno.listen` as a {@linkcode ListenError} (`NotCapable`: no `--allow-net`). */
export function denoListenError(network: string, address: string, e: unknown): ListenError {
  if (e instanceof ListenError) return e;
  const message = (e as Error)?.message ?? String(e);
  if ((e as Error)?.name === "NotCapable") {
    return new ListenError(network, address, "denied", message, { cause: e });
  }
  return ListenError.fromErrno(network, address, denoErrno(e), message, { cause: e });
}

/** A failed read or write of a Deno connection as a {@linkcode SocketError}. */
export function denoSocketError(e: unknown, info: SocketErrorInfo): SocketError {
  if ((e as Error)?.name === "UnexpectedEof") return new PeerGoneError(info, "eof", { cause: e });
  return socketErrorFromErrno(e, denoErrno(e), info);
}

/** A failed `Deno.connect` as a {@linkcode DialError} (refused: nothing listens there). */
export function denoDialError(label: string, e: unknown): DialError {
  if (e instanceof DialError) return e;
  const errno = denoErrno(e);
  if (errno === "ECONNREFUSED" || errno === "ENOENT") {
    return new ConnectionRefusedError(label, { cause: e });
  }
  return new DialError(label, (e as Error)?.message ?? String(e), { cause: e });
}
