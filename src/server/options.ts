/**
 * The Server's options, its shutdown and serve options, the auth hook, and the error it throws
 * once closed.
 *
 * @module
 */
import type { CodecRegistry } from "../codec/registry.ts";
import { RpcxError } from "../protocol/errors.ts";
import type { DecodeLimits, Message } from "../protocol/message.ts";
import type { BatchAlloc } from "../protocol/encode.ts";
import type { ListenOptions, NetworkRegistry, TlsOptions } from "../transport/network.ts";
import type { WireCodecMode } from "../native/wire_codec.ts";
import type { ConnInfo } from "./context.ts";
import type { ServerPlugin } from "./plugin.ts";
import type { HttpOptions } from "../http/options.ts";

/**
 * Checks a request's `__AUTH` token. Return false or throw to refuse: the caller gets an error
 * reply and its connection is closed (as in Go rpcx).
 *
 * @example
 * ```ts
 * import { Server } from "@rpcx/core";
 * import type { AuthFunction } from "@rpcx/core/extend";
 * const auth: AuthFunction = (token) => token === "bearer tGzv3JOkF0XG5Qx2TlKWIA";
 * new Server({ auth });
 * ```
 */
export type AuthFunction = (
  token: string | undefined,
  req: Message,
  conn: ConnInfo,
) => boolean | void | Promise<boolean | void>;

/**
 * Gets every service error (Go's `Server.HandleServiceError`, `func(error)`): what a method
 * threw or rejected with, what a raw handler threw, what auth refused with, an unknown service
 * or method, args that did not decode, a `preCall`/`postCall` failure; on rpcx connections, HTTP
 * invoke, JSON-RPC and `handleMessage`, oneway calls included. `req` is the request, `conn` its
 * connection. It runs before the error reply is written; what it throws or rejects with is
 * reported (`onError`).
 *
 * @example
 * ```ts
 * import { Server } from "@rpcx/core";
 * import type { ServiceErrorHandler } from "@rpcx/core/extend";
 * const log: ServiceErrorHandler = (e, req) =>
 *   console.log(`${req.servicePath}.${req.serviceMethod}:`, (e as Error).message);
 * new Server({ handleServiceError: log });
 * ```
 */
export type ServiceErrorHandler = (
  error: unknown,
  req: Message,
  conn: ConnInfo,
) => void | Promise<void>;

/**
 * Options of a `Server`.
 *
 * @example
 * ```ts
 * import { Server, type ServerOptions } from "@rpcx/core";
 * const options: ServerOptions = { maxMessageLength: 1 << 20 };
 * new Server(options);
 * ```
 */
export interface ServerOptions extends Partial<DecodeLimits>, HttpOptions {
  /** Token check for every non-heartbeat request. */
  auth?: AuthFunction;
  /** Plugins to add now (same as calling `use`). */
  plugins?: ServerPlugin[];
  /** Codec table (default: the process-wide `defaultCodecs`). */
  codecs?: CodecRegistry;
  /**
   * Wire codec path: `auto` (default) uses the native library for what it does faster when it
   * can be loaded (`--allow-ffi`), else pure TS; `ts` never loads it; `native` requires it.
   */
  wireCodec?: WireCodecMode;
  /**
   * Batch encoder for socket writes; overrides `wireCodec` for encoding. It may take its
   * buffer from `alloc` (a pooled write buffer of exactly the length asked, given back once the
   * socket has taken the bytes) or return one of its own.
   */
  encodeBatch?: (msgs: readonly Message[], alloc?: BatchAlloc) => Uint8Array;
  /**
   * Turns what a method threw into the `__rpcx_error__` text (default: an Error's message; a
   * thrown string itself; an object's `message` when a string, else its JSON text, at most
   * 1024 characters).
   */
  errorText?: (error: unknown) => string;
  /** Networks by name (default: `defaultNetworks`); add your own there. */
  networks?: NetworkRegistry;
  /**
   * TLS for every listener (Go's `server.WithTLSConfig`): `certChain` and `privateKey` (PEM); with
   * `caCerts` and `requireClientCert`, mutual TLS. `serve(..., { tls })` overrides it per listener.
   */
  tls?: TlsOptions;
  /**
   * Bytes of pushes (`Server.sendMessage`) a connection may have queued and not yet
   * written before further pushes fail with `PushBufferFullError` (default
   * `DEFAULT_PUSH_BUFFER_SIZE`, 4 MiB).
   */
  pushBufferSize?: number;
  /**
   * Bytes of answers and pushes a connection may have waiting to be written (its peer does not
   * read them) before the server stops reading its requests; it reads on once half of them
   * went out. A caller that sends and never reads then meets TCP backpressure instead of making
   * the server queue answers without end. Default 4 MiB; 0: no bound. Beyond Go (its server
   * reads on, one goroutine per request blocked on the write). Every network framed by the
   * server (tcp, unix, TLS, ws, wss, http CONNECT, ...); not the in-process pipe.
   */
  maxWriteBacklog?: number;
  /**
   * Closes a connection on which no complete request arrived for this many ms (heartbeats
   * count), as Go's `server.WithReadTimeout`. Default 0: no limit.
   */
  readTimeout?: number;
  /**
   * Closes a connection when one write to it makes no progress for this many ms (a peer that
   * stopped reading), as Go's `server.WithWriteTimeout`. Default 0: no limit (shutdown is
   * bounded by its own timeout anyway).
   */
  writeTimeout?: number;
  /**
   * Closes a connection that has had no call in flight and received nothing for this many ms.
   * Default 0: never.
   */
  idleTimeout?: number;
  /**
   * Gets every service error a call ends with, on every protocol (Go's `HandleServiceError`);
   * see {@linkcode ServiceErrorHandler}. Also settable later as `server.handleServiceError`.
   */
  handleServiceError?: ServiceErrorHandler;
  /**
   * TCP keep-alive of accepted connections (Go's `server.WithTCPKeepAlivePeriod`): the idle time
   * before the first probe, ms, on `tcp`, `http`, `ws`, `wss`, plain and TLS; `0`: off. Default:
   * Go's three minutes on Node and Bun, and on Deno for a `tcp` port (it listens through
   * `node:net` by default: `nodeSockets`) and TLS; on Deno's own sockets (`nodeSockets: false`,
   * and `http`/`ws` ports), keep-alive on with the system's period (2 h on Linux), because
   * `Deno.listen` cannot set a period (README, the `tcpKeepAlivePeriod` rows).
   *
   * @example
   * ```ts
   * import { Server } from "@rpcx/core";
   * const server = new Server({ tcpKeepAlivePeriod: 180_000 }); // Go's default, on every runtime
   * await server.serve("tcp", "127.0.0.1:0");
   * await server.close();
   * ```
   */
  tcpKeepAlivePeriod?: number;
  /**
   * Where errors that are reported rather than passed on go: plugin hooks whose errors are
   * reported (see {@linkcode ServerPlugin}), registry plugin failures, socket errors. Default:
   * a warning to the library's logger (`setLogger`; by default printed to stderr).
   */
  onError?: (where: string, error: unknown) => void;
}

/**
 * Options of `Server.shutdown`.
 *
 * @example
 * ```ts
 * import type { ShutdownOptions } from "@rpcx/core";
 * const o: ShutdownOptions = { timeout: 5000 };
 * console.log(o.timeout);
 * ```
 */
export interface ShutdownOptions {
  /** How long in-flight calls may take to finish, in ms (default 10 000; `Infinity`: no bound). */
  timeout?: number;
  /** Stops waiting for in-flight calls when aborted. */
  signal?: AbortSignal;
}

/**
 * The server is closed or shutting down.
 *
 * @example
 * ```ts
 * import { ServerClosedError } from "@rpcx/core";
 * console.log(new ServerClosedError().message); // "rpcx: server closed"
 * ```
 */
export class ServerClosedError extends RpcxError {
  /** Creates the error. */
  constructor() {
    super("rpcx: server closed");
  }
}

/**
 * Options of `Server.serve`.
 *
 * @example
 * ```ts
 * import type { ServeOptions } from "@rpcx/core";
 * const o: ServeOptions = { reusePort: true };
 * console.log(o.reusePort);
 * ```
 */
export interface ServeOptions extends ListenOptions {}
