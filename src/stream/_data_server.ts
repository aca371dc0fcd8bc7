/**
 * The listener both data services share (Go: `FileTransfer.start` and `StreamService.start`):
 * accept, read the 32-byte token, look it up once, hand the connection to a handler, close it
 * when the handler is done. Unlike Go, every connection reads its token on its own (a peer that
 * sends nothing holds up no one) within `handshakeTimeout`.
 *
 * @module
 */
import { within } from "../_internal/async.ts";
import type { CallContext } from "../server/context.ts";
import type { Server } from "../server/server.ts";
import { logger } from "../log/logger.ts";
import { Conn, type DataConn } from "./_conn.ts";
import { listenData, type RawListener } from "./_socket.ts";
import { TOKEN_LENGTH, TokenTable, wantsStatus } from "./_token.ts";
import {
  checkCodec,
  ERROR_META,
  errorJson,
  STATUS_META,
  statusFrame,
  tokenReply,
} from "./_wire.ts";
import { ArgsTooLargeError, DataConnectionError, DataTimeoutError, TokenError } from "./errors.ts";
import type { Meta } from "./_wire.ts";

/** Default of `maxArgsLength`, characters. */
const MAX_ARGS_LENGTH = 64 * 1024;

/** The length of a token call's args: file name, metadata keys and values, in characters. */
function argsLength(args: { fileName?: string; meta: Meta }): number {
  let n = args.fileName?.length ?? 0;
  for (const k in args.meta) n += k.length + String(args.meta[k] ?? "").length;
  return n;
}

/**
 * Options both data services take (Go: `NewFileTransfer(addr, ..., waitNum)` and
 * `NewStreamService(addr, ..., waitNum)`, plus `AdvertiseAddr`).
 *
 * @example
 * ```ts
 * import type { DataServiceOptions } from "@rpcx/core/stream";
 * const o: DataServiceOptions = { addr: "127.0.0.1:8973", waitNum: 100, tokenTimeout: 30_000 };
 * console.log(o.waitNum);
 * ```
 */
export interface DataServiceOptions {
  /**
   * Where the data connections come: `host:port` (TCP, Go's only network), `tcp@host:port` or
   * `unix@/path`. Default `127.0.0.1:0` (a free port).
   */
  addr?: string;
  /**
   * The address told to callers (Go: `AdvertiseAddr`). Default: the bound address, `host:port`
   * as Go writes it (for `unix@` the same form, which only Deno clients dial). Set it when
   * listening on `0.0.0.0` or behind NAT.
   */
  advertiseAddr?: string;
  /**
   * How many issued tokens wait for their connection at most; a new one pushes out the oldest
   * (Go: `waitNum`, an LRU of that size). Default 1000 (Go's examples).
   */
  waitNum?: number;
  /** A token is refused this many ms after it was issued (0: never, as Go). Default 60 000. */
  tokenTimeout?: number;
  /**
   * A token call's args may be this long at most: its file name and its metadata's keys and
   * values together, in characters. A token holds its call's args until its connection comes
   * (up to `waitNum` of them), so this bounds what callers that never connect make the server
   * hold: `waitNum` × `maxArgsLength`. Longer: the call fails with `ArgsTooLargeError` (a Go
   * caller gets its text), no token. Default 65 536. Beyond Go (its LRU holds any args).
   */
  maxArgsLength?: number;
  /** A connection must send its 32-byte token within this many ms. Default 10 000. */
  handshakeTimeout?: number;
  /**
   * A read or write on a data connection that makes no progress for this many ms fails with
   * `DataTimeoutError` (a stalled peer; 0: never). Default 30 000.
   */
  idleTimeout?: number;
  /**
   * Told of every connection refused or failed (`TokenError`, `DataTimeoutError`, a handler's
   * error...), with the peer's address. Default: a warning to the library's logger (a debug
   * line for a connection cut by the service's own `close()`, e.g. right after its peer ended
   * cleanly: not a failure).
   */
  onError?: (error: unknown, remoteAddress: string) => void;
}

/** What a handler gets about its connection besides the args. */
export interface DataConnInfo {
  /** The serialize type of the call that got the token (the codec of a message stream). */
  readonly serializeType: number;
  /** The peer asked for status frames (a Deno client). */
  readonly status: boolean;
}

interface Issued<T> {
  value: T;
  serializeType: number;
}

/** Dispatches a connection whose token was accepted; the connection is closed afterwards. */
export type Dispatch<T> = (conn: Conn, value: T, info: DataConnInfo) => Promise<void>;

/** How long `close()` waits for running handlers after aborting their connections, ms. */
const CLOSE_WAIT = 5_000;

/** The listener and token table of a data service. */
export class DataServer<T> {
  readonly #options: DataServiceOptions;
  readonly #tokens: TokenTable<Issued<T>>;
  readonly #dispatch: Dispatch<T>;
  readonly #active = new Map<Conn, Promise<void>>();
  #listener: RawListener | undefined;
  #starting: Promise<string> | undefined;
  #loop: Promise<void> | undefined;
  #closed = false;

  /** Why `close()` aborts the connections still being handled. */
  readonly #closeReason = new DataConnectionError("rpcx: data service closed");

  /** A service with `options` (checked by the subclass) handing each connection to `dispatch`. */
  constructor(options: DataServiceOptions, dispatch: Dispatch<T>) {
    this.#options = options;
    this.#tokens = new TokenTable(options.waitNum ?? 1000, options.tokenTimeout ?? 60_000);
    this.#dispatch = dispatch;
  }

  /** The bound address, once started. */
  get address(): string | undefined {
    return this.#listener?.address;
  }

  /** Tokens waiting for their connection. */
  get waiting(): number {
    return this.#tokens.size;
  }

  /** Connections being handled. */
  get connections(): number {
    return this.#active.size;
  }

  /** Listens (once). Rejects with the seam's `ListenError` when it cannot. */
  start(): Promise<string> {
    if (this.#closed) return Promise.reject(new DataConnectionError("rpcx: data service closed"));
    this.#starting ??= listenData(this.#options.addr ?? "127.0.0.1:0").then((l) => {
      this.#listener = l;
      this.#loop = this.#accept(l);
      return l.address;
    }, (e) => {
      this.#starting = undefined;
      throw e;
    });
    return this.#starting;
  }

  /** Issues a token for a call: the Go-shaped reply fields (token, advertised address). */
  async issue(value: T, ctx: CallContext): Promise<{ token: Uint8Array; addr: string }> {
    const bound = await this.start();
    const addr = this.#options.advertiseAddr ?? bound;
    const status = ctx.metadata[STATUS_META] === "1";
    if (status) ctx.replyMetadata[STATUS_META] = "1";
    return {
      token: this.#tokens.issue({ value, serializeType: ctx.serializeType }, status),
      addr,
    };
  }

  /** Whether `conn` was aborted by this service's own `close()`. */
  #cutByClose(conn: { readonly signal: AbortSignal }): boolean {
    return conn.signal.aborted && conn.signal.reason === this.#closeReason;
  }

  /**
   * Reports a failed data connection: to `onError`, else as a warning; a connection cut by this
   * service's own `close()` (`byClose`: its peer may well have ended cleanly, the end not read
   * yet) is not a failure: logged at debug level only.
   */
  #report(error: unknown, remote: string, byClose = false): void {
    try {
      if (this.#options.onError) this.#options.onError(error, remote);
      else if (byClose) {
        logger().debug("rpcx: data connection closed by the service's close()", {
          remote,
          error: String(error),
        });
      } else logger().warn("rpcx: data connection failed", { remote, error: String(error) });
    } catch {
      // a failing onError changes nothing
    }
  }

  async #accept(listener: RawListener): Promise<void> {
    while (true) {
      const raw = await listener.accept();
      if (!raw) return;
      const conn = new Conn(raw, this.#options.idleTimeout ?? 30_000);
      const done = this.#serve(conn).finally(() => this.#active.delete(conn));
      this.#active.set(conn, done);
    }
  }

  async #serve(conn: Conn): Promise<void> {
    const remote = conn.remoteAddress;
    const token = new Uint8Array(TOKEN_LENGTH);
    const limit = this.#options.handshakeTimeout ?? 10_000;
    const timer = setTimeout(() => conn.abort(new DataTimeoutError(limit, "token")), limit);
    let taken;
    try {
      const n = await conn.readFull(token);
      taken = n < TOKEN_LENGTH ? { refused: "short" as const } : this.#tokens.take(token);
    } catch (e) {
      const byClose = this.#cutByClose(conn);
      conn.abort(e);
      return this.#report(e, remote, byClose);
    } finally {
      clearTimeout(timer);
    }
    if ("refused" in taken) {
      const error = new TokenError(taken.refused);
      this.#report(error, remote);
      if (taken.refused !== "short" && wantsStatus(token)) {
        await conn.write(statusFrame(error)).catch(() => {});
      }
      return conn.shut();
    }
    const status = wantsStatus(token);
    try {
      if (status) await conn.write(statusFrame());
      await this.#dispatch(conn, taken.value.value, {
        serializeType: taken.value.serializeType,
        status,
      });
    } catch (e) {
      this.#report(e, remote, this.#cutByClose(conn));
      conn.abort(e);
    } finally {
      await conn.finish();
    }
  }

  /**
   * Stops accepting, forgets the tokens, aborts the connections being handled and waits up to
   * 5 s for their handlers. Idempotent.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#starting?.catch(() => {});
    await this.#listener?.close();
    this.#tokens.clear();
    await this.#loop;
    for (const c of this.#active.keys()) c.abort(this.#closeReason);
    await within(Promise.allSettled(this.#active.values()), CLOSE_WAIT);
  }
}

/**
 * A handler of a data connection: the file transfer's upload and download handlers and the
 * stream service's handler (Go: `FileTransferHandler`, `DownloadFileHandler`, `StreamHandler`,
 * which get a `net.Conn` and the call's args). The connection is closed once it settles; throw
 * to fail it (a Deno caller gets the error, typed).
 *
 * @example
 * ```ts
 * import type { DataHandler, StreamServiceArgs } from "@rpcx/core/stream";
 * // Echo, as Go's stream example: io.Copy(conn, conn).
 * const echo: DataHandler<StreamServiceArgs> = (conn) => conn.readable.pipeTo(conn.writable);
 * console.log(echo.length); // 1
 * ```
 */
export type DataHandler<A> = (conn: DataConn, args: A, info: DataConnInfo) => void | Promise<void>;

/**
 * What `FileTransfer` and `StreamService` share (Go: the `start` and token handling of
 * `server.FileTransfer` and `server.StreamService`): a listener for data connections, the
 * one-time tokens for it, the checks of a token call and its reply as Go writes it. `T` is
 * what a token stands for (the call's args). Not for subclassing outside this package.
 *
 * @example
 * ```ts
 * import { DataService, StreamService } from "@rpcx/core/stream";
 * const ss = new StreamService({ handler: (c) => c.readable.pipeTo(c.writable) });
 * console.log(ss instanceof DataService, ss.waiting); // true 0
 * console.log(await ss.start()); // 127.0.0.1:<port>
 * await ss.close();
 * ```
 */
export abstract class DataService<T> {
  readonly #server: DataServer<T>;
  readonly #maxArgs: number;

  /** Validates the options (RangeError); connections are dispatched to `dispatch`. */
  protected constructor(options: DataServiceOptions) {
    const max = options.maxArgsLength ?? MAX_ARGS_LENGTH;
    if (!(max >= 0)) throw new RangeError(`maxArgsLength must be >= 0, got ${max}`);
    this.#server = new DataServer<T>(options, (c, v, i) => this.dispatch(c, v, i));
    this.#maxArgs = max;
  }

  /** Handles a connection whose token stands for `value` (it is closed afterwards). */
  protected abstract dispatch(conn: DataConn, value: T, info: DataConnInfo): Promise<void>;

  /** The bound data address, once started. */
  get address(): string | undefined {
    return this.#server.address;
  }

  /** Tokens issued and not yet used (at most `waitNum`). */
  get waiting(): number {
    return this.#server.waiting;
  }

  /** Data connections being handled. */
  get connections(): number {
    return this.#server.connections;
  }

  /** Listens for data connections (once); the bound address. Rejects with `ListenError`. */
  start(): Promise<string> {
    return this.#server.start();
  }

  /** Stops listening, aborts the connections being handled (bounded: 5 s). Idempotent. */
  close(): Promise<void> {
    return this.#server.close();
  }

  /**
   * Runs a token call's checks (the codec, the length of `args`, then `check`): its result, or
   * its error rethrown after writing it into the reply metadata (typed for Deno callers; Go's
   * get the text).
   */
  protected async admit<R>(
    ctx: CallContext,
    args: { fileName?: string; meta: Meta },
    check: () => R | Promise<R>,
  ): Promise<R> {
    try {
      checkCodec(ctx.serializeType);
      const length = argsLength(args);
      if (length > this.#maxArgs) throw new ArgsTooLargeError(length, this.#maxArgs);
      return await check();
    } catch (e) {
      ctx.replyMetadata[ERROR_META] = errorJson(e);
      throw e;
    }
  }

  /** Issues a token standing for `value`: the call's reply as Go writes it (token, address). */
  protected async reply(value: T, ctx: CallContext): Promise<unknown> {
    const { token, addr } = await this.#server.issue(value, ctx);
    return tokenReply(ctx.serializeType, token, addr);
  }
}

/**
 * Starts `service` and registers its token service on `server` under `name` (or `fallback`
 * when empty): Go's `EnableFileTransfer` and `EnableStreamService`.
 */
export async function enableDataService(
  server: Server,
  service: { start(): Promise<string>; readonly service: object },
  name: string,
  fallback: string,
): Promise<void> {
  await service.start();
  await server.register(service.service, name || fallback);
}
