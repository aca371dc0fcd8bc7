/**
 * The errors of file transfer and streams (`@rpcx/core/stream`). Every one extends
 * {@linkcode StreamError}; `remote` is true when the peer reported it over the data connection
 * (a Deno server to a Deno client) rather than when it happened here.
 *
 * @module
 */
import { RpcxError } from "../protocol/errors.ts";

/** Options of a stream error: `remote` marks an error the peer reported. */
export interface StreamErrorOptions extends ErrorOptions {
  /** The peer reported it (default false). */
  remote?: boolean;
}

/**
 * Base of the errors of `@rpcx/core/stream`.
 *
 * @example
 * ```ts
 * import { StreamError, TokenError } from "@rpcx/core/stream";
 * console.log(new TokenError("expired") instanceof StreamError); // true
 * ```
 */
export class StreamError extends RpcxError {
  /** True when the peer reported this error (over the data connection or in a reply). */
  readonly remote: boolean;
  /** Creates the error. */
  constructor(message: string, options: StreamErrorOptions = {}) {
    super(message, options);
    this.remote = options.remote ?? false;
  }
}

/** Why a data connection's token was refused. */
export type TokenRefusal = "unknown" | "expired" | "used" | "evicted" | "short";

/**
 * A data connection's token was refused: never issued (`unknown`), older than `tokenTimeout`
 * (`expired`), already used once (`used`), pushed out by newer tokens beyond `waitNum`
 * (`evicted`), or the connection ended before its 32 bytes (`short`). The server closes such a
 * connection and keeps serving (Go rpcx logs "failed to read token" and closes it).
 *
 * @example
 * ```ts
 * import { TokenError } from "@rpcx/core/stream";
 * console.log(new TokenError("used").message); // "rpcx: data token refused: used"
 * ```
 */
export class TokenError extends StreamError {
  /** Why it was refused. */
  readonly reason: TokenRefusal;
  /** Creates the error for `reason`. */
  constructor(reason: TokenRefusal, options?: StreamErrorOptions) {
    super(`rpcx: data token refused: ${reason}`, options);
    this.reason = reason;
  }
}

/**
 * A data connection made no progress (no byte read, or a write not taken) for `timeout` ms: a
 * peer that stalls mid-file. The connection is closed.
 *
 * @example
 * ```ts
 * import { DataTimeoutError } from "@rpcx/core/stream";
 * console.log(new DataTimeoutError(30_000, "read").timeout); // 30000
 * ```
 */
export class DataTimeoutError extends StreamError {
  /** The idle bound in ms. */
  readonly timeout: number;
  /** Creates the error for an idle bound in ms, on a `read` or a `write`. */
  constructor(timeout: number, op: "read" | "write" | "token", options?: StreamErrorOptions) {
    super(`rpcx: data connection idle for ${timeout} ms on ${op}`, options);
    this.timeout = timeout;
  }
}

/**
 * The data connection could not be opened, or broke (reset, closed by us or the peer) while
 * bytes were still due. `cause` holds the socket error when there was one.
 *
 * @example
 * ```ts
 * import { DataConnectionError } from "@rpcx/core/stream";
 * console.log(new DataConnectionError("connection reset").message);
 * ```
 */
export class DataConnectionError extends StreamError {}

/**
 * A transfer ended with another byte count than announced (`FileSize` of an upload, the size a
 * Deno server tells for a download): the peer disconnected mid-file, or sent more. `received`
 * counts the bytes that came; what was written of them is removed.
 *
 * @example
 * ```ts
 * import { TransferIncompleteError } from "@rpcx/core/stream";
 * const e = new TransferIncompleteError(100, 40);
 * console.log(e.expected, e.received); // 100 40
 * ```
 */
export class TransferIncompleteError extends StreamError {
  /** The announced size in bytes. */
  readonly expected: number;
  /** The bytes that came. */
  readonly received: number;
  /** Creates the error for an announced and a received size, in bytes. */
  constructor(expected: number, received: number, options?: StreamErrorOptions) {
    super(`rpcx: transfer incomplete: ${received} of ${expected} bytes`, options);
    this.expected = expected;
    this.received = received;
  }
}

/**
 * The receiving side could not store or serve the file; the message is its reason. A Deno
 * server reports it to a Deno client on the data connection (`remote` true).
 *
 * @example
 * ```ts
 * import { TransferFailedError } from "@rpcx/core/stream";
 * console.log(new TransferFailedError("permission denied", { remote: true }).remote); // true
 * ```
 */
export class TransferFailedError extends StreamError {}

/**
 * The disk filled (ENOSPC, or a file size limit, EFBIG) while a file was written; the partial
 * file is removed.
 *
 * @example
 * ```ts
 * import { DiskFullError, TransferFailedError } from "@rpcx/core/stream";
 * console.log(new DiskFullError("No space left on device") instanceof TransferFailedError); // true
 * ```
 */
export class DiskFullError extends TransferFailedError {}

/**
 * A file passes the size bound in bytes (`maxFileSize` of {@linkcode directoryHandlers}).
 *
 * @example
 * ```ts
 * import { FileTooLargeError } from "@rpcx/core/stream";
 * console.log(new FileTooLargeError(1024).limit); // 1024
 * ```
 */
export class FileTooLargeError extends StreamError {
  /** The bound in bytes. */
  readonly limit: number;
  /** Creates the error for a bound in bytes. */
  constructor(limit: number, options?: StreamErrorOptions) {
    super(`rpcx: file larger than ${limit} bytes`, options);
    this.limit = limit;
  }
}

/**
 * A token call (`TransferFile`, `DownloadFile`, `Stream`) whose args are longer than the data
 * service's `maxArgsLength`: its file name and metadata keys and values together, in characters
 * (a token holds its call's args until its connection comes). Refused before any token.
 *
 * @example
 * ```ts
 * import { ArgsTooLargeError } from "@rpcx/core/stream";
 * const e = new ArgsTooLargeError(70_000, 65_536);
 * console.log(e.size, e.limit); // 70000 65536
 * ```
 */
export class ArgsTooLargeError extends StreamError {
  /** The args' length in characters. */
  readonly size: number;
  /** The bound in characters. */
  readonly limit: number;
  /** Creates the error for a length and a bound, in characters. */
  constructor(size: number, limit: number, options?: StreamErrorOptions) {
    super(`rpcx: call args of ${size} characters over the ${limit}-character bound`, options);
    this.size = size;
    this.limit = limit;
  }
}

/**
 * A file name the handler does not allow: empty, absolute, with a `..` segment, a NUL, a path
 * in an upload's name, or one that leads outside the served directory (through a symlink too).
 * A Deno server refuses the `TransferFile`/`DownloadFile` call with it, before any token.
 *
 * @example
 * ```ts
 * import { FileNameNotAllowedError } from "@rpcx/core/stream";
 * console.log(new FileNameNotAllowedError("../etc/passwd").fileName); // "../etc/passwd"
 * ```
 */
export class FileNameNotAllowedError extends StreamError {
  /** The name asked for. */
  readonly fileName: string;
  /** Creates the error for the name asked for. */
  constructor(fileName: string, options?: StreamErrorOptions) {
    super(`rpcx: file name not allowed: ${JSON.stringify(fileName)}`, options);
    this.fileName = fileName;
  }
}

/**
 * No such file to download (or not a regular file).
 *
 * @example
 * ```ts
 * import { FileNotFoundError } from "@rpcx/core/stream";
 * console.log(new FileNotFoundError("a.txt").message); // 'rpcx: no such file: "a.txt"'
 * ```
 */
export class FileNotFoundError extends StreamError {
  /** The name asked for. */
  readonly fileName: string;
  /** Creates the error for the name asked for. */
  constructor(fileName: string, options?: StreamErrorOptions) {
    super(`rpcx: no such file: ${JSON.stringify(fileName)}`, options);
    this.fileName = fileName;
  }
}

/**
 * The stream service's acceptor refused the caller (Go's `server.ErrNotAccept`, text "server
 * refused the connection").
 *
 * @example
 * ```ts
 * import { StreamNotAcceptedError } from "@rpcx/core/stream";
 * console.log(new StreamNotAcceptedError().message); // "server refused the connection"
 * ```
 */
export class StreamNotAcceptedError extends StreamError {
  /** Creates the error with Go's text. */
  constructor(options?: StreamErrorOptions) {
    super("server refused the connection", options);
  }
}

/**
 * The caller's `AbortSignal` fired; `cause` holds its reason. The data connection is closed.
 *
 * @example
 * ```ts
 * import { StreamAbortedError } from "@rpcx/core/stream";
 * console.log(new StreamAbortedError("user").cause); // "user"
 * ```
 */
export class StreamAbortedError extends StreamError {
  /** Creates the error for the signal's reason. */
  constructor(reason?: unknown) {
    super("rpcx: stream aborted", { cause: reason });
  }
}

/**
 * A message frame larger than `maxMessageSize` bytes (sent or announced by the peer). The
 * message stream is closed.
 *
 * @example
 * ```ts
 * import { MessageTooLargeError } from "@rpcx/core/stream";
 * console.log(new MessageTooLargeError(9, 8).size); // 9
 * ```
 */
export class MessageTooLargeError extends StreamError {
  /** The message's size in bytes. */
  readonly size: number;
  /** The bound in bytes. */
  readonly limit: number;
  /** Creates the error for a size and a bound, in bytes. */
  constructor(size: number, limit: number, options?: StreamErrorOptions) {
    super(`rpcx: message of ${size} bytes over the ${limit}-byte bound`, options);
    this.size = size;
    this.limit = limit;
  }
}

/**
 * The peer of a message stream ended it with an error frame (its handler threw, or it
 * aborted); the message is the peer's text.
 *
 * @example
 * ```ts
 * import { RemoteStreamError } from "@rpcx/core/stream";
 * console.log(new RemoteStreamError("boom").remote); // true
 * ```
 */
export class RemoteStreamError extends StreamError {
  /** Creates the error with the peer's text. */
  constructor(message: string) {
    super(message, { remote: true });
  }
}

/**
 * A message frame was cut short (the connection ended inside it) or its payload did not
 * decode with the stream's codec (`cause`).
 *
 * @example
 * ```ts
 * import { MessageFrameError } from "@rpcx/core/stream";
 * console.log(new MessageFrameError("frame cut short").message);
 * ```
 */
export class MessageFrameError extends StreamError {}
