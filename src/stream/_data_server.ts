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
import { logger } from "../log/logger.ts";
import { Conn } from "./_conn.ts";
import { listenData, type RawListener } from "./_socket.ts";
import { TOKEN_LENGTH, TokenTable, wantsStatus } from "./_token.ts";
import { STATUS_META, statusFrame } from "./_wire.ts";
import { DataConnectionError, DataTimeoutError, StreamError, TokenError } from "./errors.ts";

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
  /** A connection must send its 32-byte token within this many ms. Default 10 000. */
  handshakeTimeout?: number;
  /**
   * A read or write on a data connection that makes no progress for this many ms fails with
   * `DataTimeoutError` (a stalled peer; 0: never). Default 30 000.
   */
  idleTimeout?: number;
  /**
   * Told of every connection refused or failed (`TokenError`, `DataTimeoutError`, a handler's
   * error...), with the peer's address. Default: a warning to the library's logger.
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

  /** Validates the options (RangeError). */
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

  #report(error: unknown, remote: string): void {
    try {
      if (this.#options.onError) this.#options.onError(error, remote);
      else logger().warn("rpcx: data connection failed", { remote, error: String(error) });
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
      conn.abort(e);
      return this.#report(e, remote);
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
      this.#report(e, remote);
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
    const reason = new DataConnectionError("rpcx: data service closed");
    for (const c of this.#active.keys()) c.abort(reason);
    await within(Promise.allSettled(this.#active.values()), CLOSE_WAIT);
  }
}

/** Whether `e` is a failure worth telling the peer as is (a typed error), else a generic one. */
export function isTyped(e: unknown): e is StreamError {
  return e instanceof StreamError;
}
