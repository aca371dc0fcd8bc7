/**
 * The rpcx server: registers services, serves them on any network of the transport layer
 * (`inprocess` included), and advertises them through registry plugins.
 *
 * This file is the façade: it holds the parts that do the work (made and wired by
 * `_assemble.ts`):
 * `_listeners.ts` (what it listens on), `_connections.ts` (accepting, framing, timeouts),
 * `_connection.ts` (one connection), `_pipeline.ts` (the one sequence every request goes
 * through, from a connection, `handleMessage` or HTTP), `_dispatch.ts` (a request in, a response
 * out), `_plugin_chain.ts` (hooks and their error policies), `_registries.ts` (registry
 * plugins' lifecycle), `_http_bridge.ts` (the HTTP side), `_push.ts` (pushes),
 * `_lifecycle.ts` (shutdown and close) and `restart.ts`.
 *
 * @module
 */
import type { Message, Metadata } from "../protocol/message.ts";
import type { HttpLimits } from "../http/options.ts";
import type { ConnInfo } from "./context.ts";
import {
  isRegisterPlugin,
  type RegistryStartContext,
  type ServerMetrics,
  type ServerPlugin,
} from "./plugin.ts";
import type { ServiceMethod } from "./service.ts";
import type { SendMessageOptions } from "./push.ts";
import {
  type ServeOptions,
  ServerClosedError,
  type ServerOptions,
  type ServiceErrorHandler,
  type ShutdownOptions,
} from "./options.ts";
import { handlerKey } from "./_dispatch.ts";
import type { Handler } from "./handler.ts";
import { notifyServing, type RestartOptions, startSuccessor } from "./restart.ts";
import { runAll } from "./_lifecycle.ts";
import { assembleServer, type ServerParts } from "./_assemble.ts";

/**
 * Serves registered services. A method is `(args, ctx) => reply` (sync or async); replies go
 * back in the request's serializer, in completion order, many calls per connection at once.
 *
 * @example
 * ```ts
 * import { Client, Server } from "@rpcx/core";
 * class Arith {
 *   Mul(args: { A: number; B: number }) {
 *     return { C: args.A * args.B };
 *   }
 * }
 * const server = new Server();
 * server.register(new Arith());
 * const addr = await server.serve("tcp", "127.0.0.1:0");
 * const client = new Client(`tcp@${addr}`);
 * console.log(await client.call("Arith", "Mul", { A: 10, B: 20 })); // { C: 200 }
 * await client.close();
 * await server.close();
 * ```
 */
export class Server {
  readonly #startedAt = Date.now();
  readonly #reportTo = (where: string, e: unknown): void => this.#report(where, e);
  /** Its parts (`_assemble.ts`). */
  readonly #p: ServerParts;
  readonly #onShutdown: ((server: Server) => void | Promise<void>)[] = [];
  readonly #onRestart: ((server: Server) => void | Promise<void>)[] = [];
  #serviceAddress: string | undefined;

  /** Gets every service error (Go's `HandleServiceError` field; option `handleServiceError`). */
  handleServiceError: ServiceErrorHandler | undefined;

  /** Creates a server. */
  constructor(options: ServerOptions = {}) {
    this.handleServiceError = options.handleServiceError;
    this.#p = assembleServer(options, {
      report: this.#reportTo,
      serviceErrors: () => this.handleServiceError,
      onShutdown: () =>
        runAll(this.#onShutdown, this, "registerOnShutdown function", this.#reportTo),
    });
    for (const p of options.plugins ?? []) this.use(p);
  }

  /**
   * Pushes a message to a connected client, as Go's `Server.SendMessage`: a oneway request with
   * `servicePath`, `serviceMethod` (both may be empty), `metadata` and `data`, which a Deno
   * `Client`/`XClient` receives through `onServerMessage` or `serverMessages()`, and a Go client
   * through its `ServerMessageChan` (`NewBidirectionalXClient`). `conn` is `ctx.conn` of a call
   * (Go: `ctx.Value(server.RemoteConnContextKey)`) or one of {@linkcode activeClientConn}.
   * `data` is bytes or a string by default (SerializeNone, as Go sends); with
   * `options.serializeType` it is any value that serializer encodes.
   *
   * Resolves once the push is written to the socket. Rejects with `ClientConnClosedError` when
   * the connection is closed (or closes before the push was written), `PushBufferFullError` when
   * the client is not reading and the connection already has `pushBufferSize` bytes of pushes
   * queued (nothing is queued then), `FrameTooLargeError` when the push is longer on the wire
   * than the server's `maxMessageLength` (bytes; not sent), `UnsupportedCodecError`/`CodecError`
   * when `data` cannot be encoded. Plugins' `preWriteRequest` and `postWriteRequest` run around it.
   *
   * @example
   * ```ts
   * import { type CallContext, Client, Server } from "@rpcx/core";
   * const server = new Server();
   * server.registerFunction("Arith", function Mul(args: { A: number; B: number }, ctx: CallContext) {
   *   setTimeout(() => server.sendMessage(ctx.conn, "news", "tick", {}, "hello"), 0);
   *   return { C: args.A * args.B };
   * });
   * const addr = await server.serve("tcp", "127.0.0.1:0");
   * const client = new Client(`tcp@${addr}`);
   * const pushes = client.serverMessages();
   * await client.call("Arith", "Mul", { A: 10, B: 20 });
   * const { value } = await pushes.next();
   * console.log(new TextDecoder().decode(value!.data)); // "hello"
   * await client.close();
   * await server.close();
   * ```
   */
  sendMessage(
    conn: ConnInfo,
    servicePath: string,
    serviceMethod: string,
    metadata: Metadata | undefined,
    data: unknown,
    options: SendMessageOptions = {},
  ): Promise<void> {
    return this.#p.push.send(conn, servicePath, serviceMethod, metadata, data, options);
  }

  /**
   * The open client connections, oldest first (Go: `Server.ActiveClientConn`). Each is a handle
   * for {@linkcode sendMessage}.
   *
   * @example
   * ```ts
   * import { Server } from "@rpcx/core";
   * const server = new Server();
   * for (const conn of server.activeClientConn()) await server.sendMessage(conn, "", "", {}, "hi");
   * ```
   */
  activeClientConn(): ConnInfo[] {
    return this.#p.push.active();
  }

  /** Bytes of pushes queued on `conn` and not yet written to its socket (0 once closed). */
  pendingPushBytes(conn: ConnInfo): number {
    return this.#p.push.pending(conn);
  }

  /** The first listener's address as `network@host:port`, once serving. */
  get address(): string | undefined {
    return this.#serviceAddress;
  }

  /**
   * The bounds the HTTP side of the port applies (HTTP invoke and JSON-RPC), defaults filled in:
   * `maxHeaderSize` (bytes), `headersTimeout`, `requestTimeout`, `keepAliveTimeout` (ms),
   * `maxBatchSize` (JSON-RPC batch members), `maxBatchResponseSize` (bytes of a batch's answers)
   * and `maxBodyLength` (the server's `maxMessageLength`, bytes).
   *
   * @example
   * ```ts
   * import { Server } from "@rpcx/core";
   * const server = new Server({ keepAliveTimeout: 5000 });
   * console.log(server.httpLimits.keepAliveTimeout, server.httpLimits.maxBatchSize); // 5000 1000
   * ```
   */
  get httpLimits(): HttpLimits {
    return this.#p.http.limits;
  }

  /** Names of the registered services. */
  get services(): string[] {
    return [...this.#p.services.entries.keys()];
  }

  /** The server's counters. */
  metrics(): ServerMetrics {
    return {
      startedAt: this.#startedAt,
      connectionsAccepted: this.#p.conns.accepted,
      activeConnections: this.#p.conns.size,
      calls: this.#p.pipeline.calls,
      inFlight: this.#p.pipeline.inFlight,
    };
  }

  /**
   * Adds a plugin. A registry plugin added after `serve` is started and told about every
   * service right away (errors are reported through `onError`).
   */
  use(plugin: ServerPlugin): this {
    this.#p.plugins.add(plugin);
    if (this.#serviceAddress && isRegisterPlugin(plugin)) {
      this.#p.registries.start(plugin, this.#registryContext()).catch((e) =>
        this.#report(`registry plugin ${plugin.name ?? ""} start`, e)
      );
    }
    return this;
  }

  /**
   * Registers the methods of `service` under `name` (default: its class name), with a metadata
   * string for registries (e.g. `weight=10&group=a`). Resolves once registries were told.
   * Throws TypeError for an object without methods or name; rejects with a `beforeRegister`
   * plugin's error. Registering again under a name in use replaces that service whole (its
   * methods, receiver and metadata), without an error, as Go's `Server.Register` does (Go rpcx
   * has no "service already defined" error; registries keep the first advertisement).
   */
  register(service: object, name?: string, metadata = ""): Promise<void> {
    return this.#p.services.register(service, name, metadata);
  }

  /**
   * Registers only the methods named in `methods` of `service` (Go's `RegisterWithMethods`):
   * the others are not callable (a caller gets Go's `rpcx: can't find method <name>`). Throws
   * TypeError with Go's texts for an empty list, a name the service has no method of, or one
   * that is not callable; otherwise as {@linkcode register}.
   */
  registerWithMethods(service: object, methods: readonly string[], metadata = ""): Promise<void> {
    return this.#p.services.register(service, undefined, metadata, methods);
  }

  /** {@linkcode registerWithMethods} under `name` (Go's `RegisterNameWithMethods`). */
  registerNameWithMethods(
    name: string,
    service: object,
    methods: readonly string[],
    metadata = "",
  ): Promise<void> {
    return this.#p.services.register(service, name, metadata, methods);
  }

  /**
   * Answers `servicePath.serviceMethod` with a raw handler (Go's `AddHandler`; see
   * {@linkcode HandlerContext}), before any service of that name, on every protocol. Auth and
   * `preHandleRequest` run first, `preCall`/`postCall` not; not advertised (as Go).
   */
  addHandler(servicePath: string, serviceMethod: string, handler: Handler): void {
    this.#p.handlers.set(handlerKey(servicePath, serviceMethod), handler);
  }

  /**
   * Calls `fn` as a graceful {@linkcode shutdown} begins (Go's `RegisterOnShutdown`), within
   * its `timeout`; errors are reported (`onError`). Not on `close()`.
   */
  registerOnShutdown(fn: (server: Server) => void | Promise<void>): void {
    this.#onShutdown.push(fn);
  }

  /** Calls `fn` as {@linkcode restart} begins (Go's `RegisterOnRestart`); errors are reported. */
  registerOnRestart(fn: (server: Server) => void | Promise<void>): void {
    this.#onRestart.push(fn);
  }

  /**
   * Graceful restart (Go's `Restart`; see {@linkcode RestartOptions}): starts a new copy of
   * this process, waits until it serves every address this one does (each served with
   * `reusePort`, or, on Node and Bun, a `tcp` listening socket handed to it), then
   * {@linkcode shutdown}s this one: no call lost. Resolves with the new
   * process's id. Rejects with `RestartError` (this one then goes on serving), before anything
   * starts for an address it cannot hand over (one without `reusePort` this runtime cannot pass,
   * any `unix` one), or `ServerClosedError`.
   */
  async restart(options: RestartOptions = {}): Promise<number> {
    if (!this.#p.life.accepting) throw new ServerClosedError();
    const hooks = () => runAll(this.#onRestart, this, "registerOnRestart function", this.#reportTo);
    const child = await startSuccessor(this.#p.listeners.served, options, hooks);
    await this.shutdown(options);
    return child.pid;
  }

  /** Registers one function as method `name` (default: the function's name) of `servicePath`. */
  registerFunction(
    servicePath: string,
    fn: ServiceMethod,
    metadata = "",
    name: string = fn.name,
  ): Promise<void> {
    return this.#p.services.registerFunction(servicePath, fn, metadata, name);
  }

  /** Withdraws a service: registries are told, and it is no longer callable. */
  unregister(name: string): Promise<void> {
    return this.#p.services.unregister(name);
  }

  /**
   * Answers one request message as the server would on a connection, without a socket: resolves
   * with the response (undefined for a oneway request or a message that is not a request).
   * Heartbeats are echoed. Plugins run as on a connection, except the connection hooks; the
   * response is a copy taken when it is "written", so `postWriteResponse` runs after and what it
   * changes is not in it. Rejects with `RpcxError` when a `postReadRequest` plugin refuses.
   *
   * @example
   * ```ts
   * import { SerializeType, Server } from "@rpcx/core";
   * import { jsonCodec } from "@rpcx/core/extend";
   * import { createMessage } from "@rpcx/core/protocol";
   * const server = new Server();
   * await server.register({ Mul: (a: { A: number; B: number }) => ({ C: a.A * a.B }) }, "Arith");
   * const res = await server.handleMessage(createMessage({
   *   seq: 1n, servicePath: "Arith", serviceMethod: "Mul", serializeType: SerializeType.JSON,
   *   payload: jsonCodec.encode({ A: 2, B: 3 }),
   * }));
   * console.log(jsonCodec.decode(res!.payload)); // { C: 6 }
   * ```
   */
  handleMessage(req: Message, conn?: ConnInfo): Promise<Message | undefined> {
    const info = conn ?? {
      id: 0,
      network: "none",
      remoteAddress: "",
      localAddress: this.#serviceAddress ?? "",
    };
    return this.#p.pipeline.answer(req, info);
  }

  /**
   * Starts serving. `network` is a name in the server's networks: `tcp` (also `tcp4`, `tcp6`)
   * with `host:port` (port 0 picks a free one), `unix` with a socket path, `http` (HTTP CONNECT to
   * `/_rpcx_`), `ws`/`wss` (WebSocket on `/_rpcx_`), or `inprocess` with a name. TLS (`tcp`,
   * `http`, `wss`) comes from `options.tls` or the server's `tls` option. Resolves with the bound
   * address once listening and registries (plugins) were told. If a registry plugin fails to
   * start, the listener is closed again and the error is thrown. Throws
   * {@linkcode ServerClosedError} after shutdown, `UnsupportedNetworkError` for an unknown
   * network, and `ListenError` when the address cannot be listened on, with Go's message
   * (`listen tcp 127.0.0.1:8972: bind: address already in use`; `reason` "in-use",
   * "unavailable", "denied" or "other"; an in-process name already served is "in-use" too).
   */
  async serve(network: string, address: string, options: ServeOptions = {}): Promise<string> {
    if (!this.#p.life.accepting) throw new ServerClosedError();
    const bound = await this.#p.listeners.listen(network, address, options);
    this.#p.conns.startWatchdog();
    if (!this.#serviceAddress) {
      this.#serviceAddress = `${network}@${bound}`;
      await this.#p.registries.startAll(this.#p.plugins.registries(), this.#registryContext())
        .catch(async (e) => {
          // Not advertised means not served: undo the listener so the caller can retry.
          await this.#p.listeners.undoLast();
          this.#serviceAddress = undefined;
          throw e;
        });
    }
    // Started by `restart`: the old process waits for this before it drains (it waits for the
    // addresses it hands over; others, as an in-memory network's names, it does not wait for).
    await notifyServing(`${network}@${bound}`);
    return bound;
  }

  #registryContext(): RegistryStartContext {
    return { serviceAddress: this.#serviceAddress!, metrics: () => this.metrics() };
  }

  #report(where: string, e: unknown): void {
    if (this.#p.life.closed) return;
    try {
      this.#p.onError(where, e);
    } catch {
      // a failing reporter must not take the server down
    }
  }

  /**
   * Graceful shutdown, bounded by `timeout` whatever peers and registries do: stops accepting,
   * withdraws every service from the registries, and drains. While draining, every connection
   * closes as soon as its own calls in flight are answered (an idle one at once); heartbeats are
   * still answered; a request that arrives on a draining connection is not taken, so its caller
   * sees the connection close and a Failover client (Go's or ours) retries another server. When
   * `timeout` passes (or `signal` aborts), what is left is closed as by {@linkcode Server.close}.
   * Resolves once every address it listened on is free again (tcp, unix, http, ws, wss, with or
   * without TLS): a new Server may serve there at once, as after Go's `Shutdown`. Calling it
   * again returns the same promise.
   */
  shutdown(options: ShutdownOptions = {}): Promise<void> {
    return this.#p.life.shutdown(options);
  }

  /**
   * Closes at once: listeners, connections; in-flight calls' signals are aborted. Registries
   * are told to withdraw the services (errors are reported). Resolves once every address it
   * listened on is free again (a new Server may `serve` there at once, as after Go's `Close`).
   */
  close(): Promise<void> {
    return this.#p.life.close();
  }

  /**
   * Shuts down gracefully on SIGINT or SIGTERM (unregistering from registries), then exits
   * the process (unless `exit` is false). The shutdown is bounded by `timeout` (default 10 s).
   * Returns a function that removes the handlers.
   */
  shutdownOnSignals(options: ShutdownOptions & { exit?: boolean } = {}): () => void {
    return this.#p.life.onSignals(options);
  }
}
