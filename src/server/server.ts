/**
 * The rpcx server: registers services, serves them on any network of the transport layer or
 * in-process, and advertises them through registry plugins.
 *
 * This file is the façade: it holds the services and wires the parts that do the work:
 * `_listeners.ts` (what it listens on), `_connections.ts` (accepting, framing, timeouts),
 * `_connection.ts` (one connection), `_pipeline.ts` (the one sequence every request goes
 * through, from a connection, `handleMessage` or HTTP), `_dispatch.ts` (a request in, a response
 * out), `_plugin_chain.ts` (hooks and their error policies), `_registries.ts` (registry
 * plugins' lifecycle), `_http_bridge.ts` (the HTTP side), `_push.ts` (pushes), `_inprocess.ts`
 * (in-process sessions) and `_lifecycle.ts` (shutdown and close).
 *
 * @module
 */
import { setMaxListeners } from "node:events";
import { defaultCodecs } from "../codec/registry.ts";
import type { Message, Metadata } from "../protocol/message.ts";
import { defaultNetworks } from "../transport/networks.ts";
import { defaultInprocessRegistry, INPROCESS_NETWORK } from "../transport/inprocess.ts";
import type { HttpLimits } from "../http/options.ts";
import type { ConnInfo } from "./context.ts";
import {
  isRegisterPlugin,
  type RegistryStartContext,
  type ServerMetrics,
  type ServerPlugin,
} from "./plugin.ts";
import type { ServiceMethod } from "./service.ts";
import { DEFAULT_PUSH_BUFFER_SIZE, type SendMessageOptions } from "./push.ts";
import {
  type ServeOptions,
  ServerClosedError,
  type ServerOptions,
  type ServiceErrorHandler,
  type ShutdownOptions,
} from "./options.ts";
import { PushSender } from "./_push.ts";
import { PluginChain } from "./_plugin_chain.ts";
import { Dispatcher } from "./_dispatch.ts";
import { RequestPipeline } from "./_pipeline.ts";
import { handlerKey } from "./_dispatch.ts";
import type { Handler } from "./handler.ts";
import { notifyServing, type RestartOptions, startSuccessor } from "./restart.ts";
import { RegistryLifecycle } from "./_registries.ts";
import { ServerConnections } from "./_connections.ts";
import { Listeners } from "./_listeners.ts";
import { httpBridge } from "./_http_bridge.ts";
import { Lifecycle, runAll } from "./_lifecycle.ts";
import { ServiceTable } from "./_services.ts";
import { serverSettings } from "./_settings.ts";
import type { RpcxHttpServer } from "../http/http_server.ts";

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
  readonly #services: ServiceTable;
  readonly #plugins: PluginChain;
  readonly #registries: RegistryLifecycle;
  readonly #pipeline: RequestPipeline;
  readonly #conns: ServerConnections;
  readonly #listeners: Listeners;
  readonly #http: RpcxHttpServer;
  readonly #push: PushSender;
  readonly #life: Lifecycle;
  readonly #onError: (where: string, error: unknown) => void;
  readonly #startedAt = Date.now();
  readonly #reportTo = (where: string, e: unknown): void => this.#report(where, e);
  readonly #handlers = new Map<string, Handler>();
  readonly #onShutdown: ((server: Server) => void | Promise<void>)[] = [];
  readonly #onRestart: ((server: Server) => void | Promise<void>)[] = [];
  #serviceAddress: string | undefined;

  /** Gets every service error (Go's `HandleServiceError` field; option `handleServiceError`). */
  handleServiceError: ServiceErrorHandler | undefined;

  /** Creates a server. */
  constructor(options: ServerOptions = {}) {
    const { frame, timeouts, onError, errorText } = serverSettings(options);
    this.#onError = onError;
    this.handleServiceError = options.handleServiceError;
    const report = this.#reportTo;
    const accepting = () => this.#life.accepting;
    this.#life = new Lifecycle(() => ({
      stopListening: () => this.#listeners.stop(),
      stopRegistries: () => this.#registries.stopAll(),
      connections: this.#conns,
      http: this.#http,
      onShutdown: () => runAll(this.#onShutdown, this, "registerOnShutdown function", report),
    }));
    // Every timed call in flight listens on this signal (CallDeadline): Node warns past 10
    // listeners (MaxListenersExceededWarning) unless told that many are expected.
    setMaxListeners(0, this.#life.stop.signal);
    const plugins = this.#plugins = new PluginChain(report);
    this.#registries = new RegistryLifecycle(() => this.#services.entries.values(), report);
    this.#services = new ServiceTable(plugins, this.#registries, () => this.#listeners);
    const codecs = options.codecs ?? defaultCodecs;
    const dispatcher = new Dispatcher({
      services: this.#services.entries,
      handlers: this.#handlers,
      lateError: (e, req, conn) => this.#pipeline.serviceError(e, req, conn),
      codecs,
      plugins,
      auth: options.auth,
      errorText,
      stop: this.#life.stop.signal,
    });
    const pipeline = this.#pipeline = new RequestPipeline({
      plugins,
      dispatcher,
      serviceErrors: () => this.handleServiceError,
      report,
    });
    const bridge = httpBridge({ pipeline, plugins, accepting, report, errorText }, {
      ...options,
      maxBodyLength: frame.maxMessageLength,
    });
    this.#http = bridge.http;
    const conns = this.#conns = new ServerConnections({
      plugins,
      dispatcher,
      pipeline,
      timeouts,
      frame,
      sniff: bridge.sniff,
      accepting,
      report,
    });
    this.#listeners = new Listeners({
      networks: options.networks ?? defaultNetworks,
      tls: options.tls,
      keepAlive: options.tcpKeepAlivePeriod,
      readTimeout: timeouts.read,
      inprocess: options.inprocessRegistry ?? defaultInprocessRegistry,
      services: () => this.#services.entries.values(),
      accept: (conn, localAddress) => conns.accept(conn, localAddress),
      openInprocess: (client, deliver, closed) =>
        conns.openInprocess(client, this.#serviceAddress ?? INPROCESS_NETWORK, deliver, closed),
      accepting,
      report,
    });
    this.#push = new PushSender({
      find: (info) => conns.find(info),
      active: () => conns.active(),
      bufferSize: options.pushBufferSize ?? DEFAULT_PUSH_BUFFER_SIZE,
      codecs,
      plugins,
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
   * queued (nothing is queued then), `UnsupportedCodecError`/`CodecError` when `data` cannot be
   * encoded. Plugins' `preWriteRequest` and `postWriteRequest` run around it.
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
    return this.#push.send(conn, servicePath, serviceMethod, metadata, data, options);
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
    return this.#push.active();
  }

  /** Bytes of pushes queued on `conn` and not yet written to its socket (0 once closed). */
  pendingPushBytes(conn: ConnInfo): number {
    return this.#push.pending(conn);
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
    return this.#http.limits;
  }

  /** Names of the registered services. */
  get services(): string[] {
    return [...this.#services.entries.keys()];
  }

  /** The server's counters. */
  metrics(): ServerMetrics {
    return {
      startedAt: this.#startedAt,
      connectionsAccepted: this.#conns.accepted,
      activeConnections: this.#conns.size,
      calls: this.#pipeline.calls,
      inFlight: this.#pipeline.inFlight,
    };
  }

  /**
   * Adds a plugin. A registry plugin added after `serve` is started and told about every
   * service right away (errors are reported through `onError`).
   */
  use(plugin: ServerPlugin): this {
    this.#plugins.add(plugin);
    if (this.#serviceAddress && isRegisterPlugin(plugin)) {
      this.#registries.start(plugin, this.#registryContext()).catch((e) =>
        this.#report(`registry plugin ${plugin.name ?? ""} start`, e)
      );
    }
    return this;
  }

  /**
   * Registers the methods of `service` under `name` (default: its class name), with a metadata
   * string for registries (e.g. `weight=10&group=a`). Resolves once registries were told.
   * Throws TypeError for an object without methods or name; rejects with a `beforeRegister`
   * plugin's error.
   */
  register(service: object, name?: string, metadata = ""): Promise<void> {
    return this.#services.register(service, name, metadata);
  }

  /**
   * Registers only the methods named in `methods` of `service` (Go's `RegisterWithMethods`):
   * the others are not callable (a caller gets Go's `rpcx: can't find method <name>`). Throws
   * TypeError with Go's texts for an empty list, a name the service has no method of, or one
   * that is not callable; otherwise as {@linkcode register}.
   *
   * @example
   * ```ts
   * import { Server } from "@rpcx/core";
   * const arith = { Mul: (a: { A: number; B: number }) => ({ C: a.A * a.B }), Reset() {} };
   * await new Server().registerNameWithMethods("Arith", arith, ["Mul"]); // Reset: not exposed
   * ```
   */
  registerWithMethods(service: object, methods: readonly string[], metadata = ""): Promise<void> {
    return this.#services.register(service, undefined, metadata, methods);
  }

  /** {@linkcode registerWithMethods} under `name` (Go's `RegisterNameWithMethods`). */
  registerNameWithMethods(
    name: string,
    service: object,
    methods: readonly string[],
    metadata = "",
  ): Promise<void> {
    return this.#services.register(service, name, metadata, methods);
  }

  /**
   * Answers `servicePath.serviceMethod` with a raw handler (Go's `AddHandler`), before any
   * registered service of that name: it gets the request undecoded and answers when it likes
   * (see {@linkcode HandlerContext}), on rpcx connections, HTTP invoke and JSON-RPC. Auth and
   * `preHandleRequest` run before it; `preCall`/`postCall` do not (as Go). Not advertised to
   * registries (as Go). Adding one again replaces it.
   */
  addHandler(servicePath: string, serviceMethod: string, handler: Handler): void {
    this.#handlers.set(handlerKey(servicePath, serviceMethod), handler);
  }

  /**
   * Calls `fn` when a graceful {@linkcode shutdown} begins (Go's `RegisterOnShutdown`, never
   * called by Go v1.9.4), all together, the listeners closed; `shutdown` waits for them within
   * its `timeout`. Errors are reported (`onError`). `close()` does not call them.
   */
  registerOnShutdown(fn: (server: Server) => void | Promise<void>): void {
    this.#onShutdown.push(fn);
  }

  /**
   * Calls `fn` when {@linkcode restart} begins (all together, awaited before the new process
   * starts; Go's `RegisterOnRestart`, never called by Go v1.9.4). Errors are reported.
   */
  registerOnRestart(fn: (server: Server) => void | Promise<void>): void {
    this.#onRestart.push(fn);
  }

  /**
   * Graceful restart (Go's `Restart`): starts a new copy of this process (`options.command`,
   * default this one's command line; `options.env` added), waits until it serves every address
   * this one does (`readyTimeout`, 30 000 ms), then {@linkcode shutdown}s this one. Each address
   * must be served with `reusePort` (both listen while this one drains: no call lost). Resolves
   * with the new process's id. Rejects with {@linkcode RestartError} (no `reusePort`, no command
   * line, the new process ended or was late: it is ended, this one goes on serving) or
   * `ServerClosedError`. The new process reads `RPCX_RESTART_NOTIFY` (Deno: `--allow-env`).
   *
   * @example
   * ```ts ignore
   * import { Server } from "@rpcx/core";
   * const server = new Server();
   * await server.serve("tcp", "127.0.0.1:8972", { reusePort: true });
   * Deno.addSignalListener("SIGHUP", () => server.restart().then(() => Deno.exit(0)));
   * ```
   */
  async restart(options: RestartOptions = {}): Promise<number> {
    if (!this.#life.accepting) throw new ServerClosedError();
    const hooks = () => runAll(this.#onRestart, this, "registerOnRestart function", this.#reportTo);
    const child = await startSuccessor(this.#listeners.served, options, hooks);
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
    return this.#services.registerFunction(servicePath, fn, metadata, name);
  }

  /** Withdraws a service: registries are told, and it is no longer callable. */
  unregister(name: string): Promise<void> {
    return this.#services.unregister(name);
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
   * import { jsonCodec, SerializeType, Server } from "@rpcx/core";
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
    return this.#pipeline.answer(req, info);
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
    if (!this.#life.accepting) throw new ServerClosedError();
    const bound = await this.#listeners.listen(network, address, options);
    this.#conns.startWatchdog();
    if (!this.#serviceAddress) {
      this.#serviceAddress = `${network}@${bound}`;
      await this.#registries.startAll(this.#plugins.registries(), this.#registryContext())
        .catch(async (e) => {
          // Not advertised means not served: undo the listener so the caller can retry.
          await this.#listeners.undoLast();
          this.#serviceAddress = undefined;
          throw e;
        });
    }
    // Started by `restart`: the old process waits for this before it drains.
    if (network !== INPROCESS_NETWORK) await notifyServing(`${network}@${bound}`);
    return bound;
  }

  #registryContext(): RegistryStartContext {
    return { serviceAddress: this.#serviceAddress!, metrics: () => this.metrics() };
  }

  #report(where: string, e: unknown): void {
    if (this.#life.closed) return;
    try {
      this.#onError(where, e);
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
    return this.#life.shutdown(options);
  }

  /**
   * Closes at once: listeners, connections; in-flight calls' signals are aborted. Registries
   * are told to withdraw the services (errors are reported). Resolves once every address it
   * listened on is free again (a new Server may `serve` there at once, as after Go's `Close`).
   */
  close(): Promise<void> {
    return this.#life.close();
  }

  /**
   * Shuts down gracefully on SIGINT or SIGTERM (unregistering from registries), then exits
   * the process (unless `exit` is false). The shutdown is bounded by `timeout` (default 10 s).
   * Returns a function that removes the handlers.
   */
  shutdownOnSignals(options: ShutdownOptions & { exit?: boolean } = {}): () => void {
    return this.#life.onSignals(options);
  }
}
