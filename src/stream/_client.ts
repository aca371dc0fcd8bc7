/**
 * What the client functions share: the call that gets a token (through the caller's XClient, so
 * its selection and fail mode apply), the dial, the token, and the status the server sends.
 *
 * @module
 */
import { delay } from "../_internal/async.ts";
import { ServiceError } from "../client/errors.ts";
import type { CallOptions } from "../client/options.ts";
import { SerializeType } from "../protocol/constants.ts";
import type { Metadata } from "../protocol/message.ts";
import { Conn } from "./_conn.ts";
import { dialData } from "./_socket.ts";
import { ERROR_META, errorOf, readStatus, readTokenReply, STATUS_META } from "./_wire.ts";
import { StreamAbortedError, StreamNotAcceptedError } from "./errors.ts";

/**
 * What the client functions call the data service through: an `XClient` made for the service
 * (`_filetransfer` or `_streamservice`, as Go's `NewXClient(share.SendFileServiceName, ...)`),
 * whose selection and fail mode pick the server; or a `Client` or `OneClient` (then
 * `servicePath` names the service). Told apart by shape: an `XClient` has a `servicePath`.
 *
 * @example
 * ```ts
 * import { FailMode, Peer2PeerDiscovery, SelectMode, XClient } from "@rpcx/core";
 * import type { DataCaller } from "@rpcx/core/stream";
 * const x = new XClient("_filetransfer", FailMode.Failtry, SelectMode.RandomSelect,
 *   new Peer2PeerDiscovery("tcp@127.0.0.1:8972"));
 * const caller: DataCaller = x; // sendFile(caller, ...) calls x's _filetransfer.TransferFile
 * await x.close();
 * ```
 */
export type DataCaller = ServiceCaller | AnyServiceCaller;

/**
 * A caller of one service's methods (an `XClient`).
 *
 * @example
 * ```ts
 * import type { ServiceCaller } from "@rpcx/core/stream";
 * const c: ServiceCaller = { servicePath: "_filetransfer", call: () => Promise.resolve({}) };
 * console.log(c.servicePath);
 * ```
 */
export interface ServiceCaller {
  /** The service it calls. */
  readonly servicePath: string;
  /** Calls `method` of that service. */
  call(method: string, args: unknown, options?: CallOptions): Promise<unknown>;
}

/**
 * A caller of any service (a `Client`, a `OneClient`).
 *
 * @example
 * ```ts
 * import type { AnyServiceCaller } from "@rpcx/core/stream";
 * const c: AnyServiceCaller = { call: (path, method) => Promise.resolve(`${path}.${method}`) };
 * console.log(await c.call("_streamservice", "Stream", {})); // "_streamservice.Stream"
 * ```
 */
export interface AnyServiceCaller {
  /** Calls `method` of `servicePath`. */
  call(servicePath: string, method: string, args: unknown, options?: CallOptions): Promise<unknown>;
}

/**
 * Options of {@linkcode sendFile}, {@linkcode downloadFile} and {@linkcode stream}.
 *
 * @example
 * ```ts
 * import type { TransferOptions } from "@rpcx/core/stream";
 * const o: TransferOptions = { meta: { foo: "bar" }, timeout: 5_000, idleTimeout: 10_000 };
 * console.log(o.meta);
 * ```
 */
export interface TransferOptions {
  /** Metadata for the server's handler (Go: the `meta` argument). */
  meta?: Record<string, string>;
  /** Stops the call and the transfer: rejects with {@linkcode StreamAbortedError}. */
  signal?: AbortSignal;
  /** Bound of the call that gets the token, ms (sent as `__ServerTimeout`, as Go). */
  timeout?: number;
  /**
   * The codec of that call: `SerializeType.MsgPack` (default, Go's `DefaultOption`) or `JSON`;
   * use the one your XClient was made with.
   */
  serializeType?: number;
  /** Dial bound of the data connection, ms (Go: `Option.ConnectTimeout`). Default 1000. */
  connectTimeout?: number;
  /**
   * A read or write on the data connection that makes no progress for this many ms fails with
   * `DataTimeoutError` (0: never). Default 30 000.
   */
  idleTimeout?: number;
  /** The service when calling through a `Client` or `OneClient`. Default: Go's service name. */
  servicePath?: string;
  /**
   * Ask for status frames (default true): a Deno server then confirms the token and an upload,
   * and tells why it refused or failed; a Go server ignores the request.
   */
  status?: boolean;
}

/** A data connection opened for a call. */
export interface Opened {
  conn: Conn;
  /** The server agreed to status frames. */
  status: boolean;
  /** The reply's metadata. */
  replyMetadata: Metadata;
  /** Removes the abort hook. */
  release(): void;
}

/** The serialize type of `options` (MsgPack by default). */
export function serializeTypeOf(options: TransferOptions): number {
  return options.serializeType ?? SerializeType.MsgPack;
}

function typedCallError(e: unknown): unknown {
  if (!(e instanceof ServiceError)) return e;
  const json = e.metadata?.[ERROR_META];
  if (json) {
    const typed = errorOf(json);
    (typed as { cause?: unknown }).cause = e;
    return typed;
  }
  if (e.message === "server refused the connection") {
    return new StreamNotAcceptedError({ remote: true, cause: e });
  }
  return e;
}

/**
 * Calls `method` for a token, dials the advertised address, sends the token and (when agreed)
 * reads the server's acceptance. Rejects with the call's error (a typed one when a Deno server
 * said which), {@linkcode DataConnectionError}, {@linkcode TokenError} or
 * {@linkcode StreamAbortedError}.
 */
export async function openData(
  caller: DataCaller,
  service: string,
  method: string,
  args: unknown,
  options: TransferOptions,
): Promise<Opened> {
  const signal = options.signal;
  if (signal?.aborted) throw new StreamAbortedError(signal.reason);
  const replyMetadata: Metadata = {};
  const call: CallOptions = {
    serializeType: serializeTypeOf(options),
    metadata: options.status === false ? {} : { [STATUS_META]: "1" },
    replyMetadata,
    timeout: options.timeout,
    signal,
  };
  let reply: unknown;
  try {
    reply = typeof (caller as Partial<ServiceCaller>).servicePath === "string"
      ? await (caller as ServiceCaller).call(method, args, call)
      : await (caller as AnyServiceCaller).call(options.servicePath ?? service, method, args, call);
  } catch (e) {
    if (signal?.aborted) throw new StreamAbortedError(signal.reason);
    throw typedCallError(e);
  }
  const { token, addr } = readTokenReply(reply);
  if (signal?.aborted) throw new StreamAbortedError(signal.reason);
  const raw = await dialData(addr, options.connectTimeout ?? 1000);
  const conn = new Conn(raw, options.idleTimeout ?? 30_000);
  const onAbort = () => conn.abort(new StreamAbortedError(signal!.reason));
  signal?.addEventListener("abort", onAbort, { once: true });
  const release = () => signal?.removeEventListener("abort", onAbort);
  const status = replyMetadata[STATUS_META] === "1";
  try {
    if (signal?.aborted) onAbort();
    await conn.write(token);
    if (status) {
      const refused = await readStatus(conn);
      if (refused) throw refused;
    }
  } catch (e) {
    release();
    conn.abort(e);
    throw e;
  }
  return { conn, status, replyMetadata, release };
}

/**
 * Go's `ratelimit.NewBucketWithRate(rate, rate)`: a bucket of `rate` bytes, full at the start,
 * refilled at `rate` bytes/s; `wait(n)` takes n bytes, waiting while the bucket is in debt.
 */
export class RateLimiter {
  readonly #rate: number;
  #tokens: number;
  #at = performance.now();

  /** A limiter of `rate` bytes/s (> 0). */
  constructor(rate: number) {
    this.#rate = rate;
    this.#tokens = rate;
  }

  /** Takes `n` bytes; resolves when they may be sent. */
  async wait(n: number, signal?: AbortSignal): Promise<void> {
    const now = performance.now();
    this.#tokens = Math.min(this.#rate, this.#tokens + (now - this.#at) / 1000 * this.#rate);
    this.#at = now;
    this.#tokens -= n;
    if (this.#tokens < 0) {
      await delay(-this.#tokens / this.#rate * 1000, signal).catch(() => {
        throw new StreamAbortedError(signal!.reason);
      });
    }
  }
}
