/**
 * Server plugins: typed hooks around registration, connections, requests and responses, and
 * registry plugins that advertise the server.
 *
 * @module
 */
import type { Message } from "../protocol/message.ts";
import type { CallContext, ConnInfo } from "./context.ts";
import type { PushContext } from "./push.ts";
import type { HttpRequestInfo } from "../http/host.ts";
import type { Connection } from "../transport/network.ts";

export type { ConnInfo } from "./context.ts";
export type { HttpRequestInfo } from "../http/host.ts";

/**
 * Counters a server keeps, read by registry plugins for their metrics refresh.
 *
 * @example
 * ```ts
 * import { Server } from "@rpcx/core";
 * console.log(new Server().metrics().calls); // 0
 * ```
 */
export interface ServerMetrics {
  /** When the server was created (ms since epoch). */
  readonly startedAt: number;
  /** Connections accepted since start. */
  readonly connectionsAccepted: number;
  /** Connections open now. */
  readonly activeConnections: number;
  /** Requests dispatched to services since start (heartbeats excluded). */
  readonly calls: number;
  /** Requests running now. */
  readonly inFlight: number;
}

/**
 * What a registry plugin is told when the server starts serving.
 *
 * @example
 * ```ts
 * import type { RegistryStartContext } from "@rpcx/core/extend";
 * const ctx: RegistryStartContext = {
 *   serviceAddress: "tcp@127.0.0.1:8972",
 *   metrics: () => ({ startedAt: 0, connectionsAccepted: 0, activeConnections: 0, calls: 0, inFlight: 0 }),
 * };
 * console.log(ctx.serviceAddress);
 * ```
 */
export interface RegistryStartContext {
  /** The listener's address as `network@host:port`. */
  readonly serviceAddress: string;
  /** The server's counters now. */
  metrics(): ServerMetrics;
}

/**
 * Hooks a plugin may implement; every one is optional. Plugins run in the order they were added.
 * Each hook has one error policy per kind of request (a hook "throws" also when the promise it
 * returns rejects), and this table is all of them: hooks run only in the server's plugin chain.
 *
 * | hook | Go rpcx's | when a hook throws |
 * | --- | --- | --- |
 * | `beforeRegister` | `Register` | the registration is refused: `register()` rejects with the error; later plugins do not run |
 * | `afterRegister` | — | reported; the service stays registered; the other plugins still run |
 * | `connAccept` | `PostConnAccept` (returns a wrapped `net.Conn`: here a returned `Connection`) | the connection is closed (as when it returns false); reported |
 * | `connClose` | `PostConnClose` | reported; the other plugins still run |
 * | `preReadRequest` (rpcx connection) | `PreReadRequest` | the connection is closed (Go stops reading it); reported |
 * | `preReadRequest` (HTTP invoke) | `PreReadRequest` (gateway) | answered with HTTP 500 and the error's text (as Go); later plugins do not run |
 * | `preReadRequest` (JSON-RPC call) | `PreReadRequest` (JSON-RPC) | ignored, as Go; the call goes on |
 * | `postHTTPRequest` | `PostHTTPRequest` | answered with HTTP 500 and the error's text (as Go); later plugins do not run |
 * | `postReadRequest` | `PostReadRequest` | the request is dropped and the connection closed (as Go); on HTTP an HTTP 500, in `handleMessage` a rejection; reported |
 * | `heartbeat` | `HeartbeatRequest` | reported; the heartbeat is still answered (Go ignores the error) |
 * | `preHandleRequest` | `PreHandleRequest` | reported; the call still runs (Go ignores the error) |
 * | `preCall` | `PreCall` | the call fails: the caller gets an error reply with the error's text |
 * | `postCall` | `PostCall` | the call fails: the caller gets an error reply with the error's text |
 * | `preWriteResponse` | `PreWriteResponse` | reported; the response is still written (Go ignores the error) |
 * | `postWriteResponse` | `PostWriteResponse` | reported (it runs once the response is written) |
 * | `preWriteRequest` | `PreWriteRequest` | reported; the push is still written (as Go) |
 * | `postWriteRequest` | `PostWriteRequest` | reported |
 *
 * "Reported" means passed to the server's `onError` option (default: a warning to the library's
 * logger, see `setLogger`); no hook can end the process or leave a rejection unhandled. The
 * methods of a registry plugin have their own table on {@linkcode RegisterPlugin}.
 *
 * @example
 * ```ts
 * import { Server } from "@rpcx/core";
 * import type { ServerPlugin } from "@rpcx/core/extend";
 * const logCalls: ServerPlugin = {
 *   name: "log-calls",
 *   preCall(ctx, args) {
 *     console.log(ctx.servicePath, ctx.serviceMethod);
 *     return args;
 *   },
 * };
 * new Server().use(logCalls);
 * ```
 */
export interface ServerPlugin {
  /** A name for logs. */
  readonly name?: string;
  /** Before a service is registered; throw to refuse the registration. */
  beforeRegister?(name: string, service: unknown, metadata: string): void;
  /** After a service is registered (locally; registries are told through `register`). */
  afterRegister?(name: string, service: unknown, metadata: string): void;
  /**
   * A connection was accepted; return false (or throw) to close it at once. Go's
   * `PostConnAccept` returns a `net.Conn`: return a {@linkcode Connection} to have the server
   * read and write through it instead of `socket` (a wrapper: tee what arrives, count bytes...;
   * its `close` must close `socket`). `socket` is the connection as the plugins before this one
   * left it (on every network, `inprocess` too: a wrapper of a pipe's end is read and written
   * as bytes, framed).
   */
  connAccept?(conn: ConnInfo, socket: Connection): boolean | void | Connection;
  /** A connection was closed. */
  connClose?(conn: ConnInfo): void;
  /**
   * The connection is ready for its next request: called once when it is accepted and again
   * after each request is read. Throw to close the connection.
   */
  preReadRequest?(conn: ConnInfo): void;
  /** A request was decoded; throw to reject it (the connection is closed, as in Go). */
  postReadRequest?(req: Message, conn: ConnInfo): void;
  /** A heartbeat arrived (it is answered whatever the hook does). */
  heartbeat?(req: Message, conn: ConnInfo): void;
  /**
   * A call is about to be dispatched (after auth, before the args are decoded); `ctx` is the
   * context the method will get. Go's tracing plugins start their span here.
   */
  preHandleRequest?(ctx: CallContext, req: Message): void | Promise<void>;
  /** Before the method runs; returns the (possibly replaced) args. Throw to fail the call. */
  preCall?(ctx: CallContext, args: unknown): unknown | Promise<unknown>;
  /** After the method ran; returns the (possibly replaced) reply. Throw to fail the call. */
  postCall?(
    ctx: CallContext,
    args: unknown,
    reply: unknown,
    error: unknown,
  ): unknown | Promise<unknown>;
  /**
   * An HTTP invoke request arrived (Go's `PostHTTPRequest`), before it becomes an rpcx request;
   * throw to answer it with HTTP 500 and the error's text.
   */
  postHTTPRequest?(req: HttpRequestInfo, conn: ConnInfo): void | Promise<void>;
  /** Before a response is written: what it changes in `res` is what the caller gets. */
  preWriteResponse?(req: Message, res: Message): void;
  /**
   * After a response was written (Go: after `conn.Write`): on a connection once its bytes are
   * handed to the socket, on HTTP once the answer is; what it changes no longer reaches the caller.
   */
  postWriteResponse?(req: Message, res: Message): void;
  /** Before a push (`Server.sendMessage`) is written (Go: PreWriteRequest); errors are logged. */
  preWriteRequest?(ctx: PushContext): void;
  /**
   * After a push was written, or failed with `error` (Go: PostWriteRequest); errors are logged.
   */
  postWriteRequest?(ctx: PushContext, req: Message, error: unknown): void;
}

/**
 * A plugin that advertises the server's services in a registry. The server calls `start` once it
 * listens, then `register` for every service (already registered or registered later),
 * `unregister` when a service is removed or the server shuts down, then `stop`. Each method has
 * one error policy (a throw or a rejection), applied by the server's registry lifecycle:
 *
 * | method | when it throws |
 * | --- | --- |
 * | `start`, and `register` of the services already there | `serve()` rejects with the error, its listener is closed again and every registry stopped (not advertised means not served); for a plugin added by `use()` after `serve`, reported |
 * | `register` (a service registered later) | `register()`/`registerFunction()` reject with the error; the service stays registered locally |
 * | `unregister` (`Server.unregister`) | `unregister()` rejects with the error; the service is no longer callable |
 * | `unregister` and `stop` (shutdown, close) | reported; every other registry and service is still withdrawn |
 *
 * @example
 * ```ts
 * import { Server } from "@rpcx/core";
 * import type { RegisterPlugin } from "@rpcx/core/extend";
 * const names = new Set<string>();
 * const memo: RegisterPlugin = {
 *   name: "memo",
 *   register(name) {
 *     names.add(name);
 *   },
 *   unregister(name) {
 *     names.delete(name);
 *   },
 * };
 * const server = new Server({ plugins: [memo] });
 * await server.register({ Ping: () => "pong" }, "Health");
 * await server.serve("tcp", "127.0.0.1:0");
 * console.log([...names]); // [ "Health" ]
 * await server.close();
 * console.log([...names]); // []
 * ```
 */
export interface RegisterPlugin extends ServerPlugin {
  /** Connects to the registry; `ctx.serviceAddress` is the default address to advertise. */
  start?(ctx: RegistryStartContext): void | Promise<void>;
  /** Advertises one service with its metadata string. */
  register(name: string, service: unknown, metadata: string): void | Promise<void>;
  /** Removes one service's advertisement. */
  unregister(name: string): void | Promise<void>;
  /** Removes everything it advertised and releases the registry client. */
  stop?(): void | Promise<void>;
}

/**
 * Whether a plugin is a registry plugin (has `register` and `unregister`).
 */
export function isRegisterPlugin(p: ServerPlugin): p is RegisterPlugin {
  const r = p as Partial<RegisterPlugin>;
  return typeof r.register === "function" && typeof r.unregister === "function";
}
