// Over 500 lines: the Server façade, every public method with its documentation and example.
/**
 * The rpcx server: registers services, serves them on any network of the transport layer or
 * in-process, and advertises them through registry plugins.
 *
 * This file is the façade: the work is done by `_pipeline.ts` (the one sequence every request
 * goes through, from a connection, `handleMessage` or HTTP), `_dispatch.ts` (a request in, a
 * response out), `_plugin_chain.ts` (hooks and their error policies), `_registries.ts` (registry
 * plugins' lifecycle), `_connection.ts` (one connection: drain, timeouts), `_inprocess.ts`
 * (in-process sessions) and `_push.ts` (pushes).
 *
 * @module
 */
import { setMaxListeners } from "node:events";
import { logger } from "../log/logger.ts";
import { runtime } from "../runtime/mod.ts";
import { defaultCodecs } from "../codec/registry.ts";
import { MAGIC_NUMBER } from "../protocol/constants.ts";
import { RpcxError } from "../protocol/errors.ts";
import {
  type DecodeLimits,
  DEFAULT_DECODE_LIMITS,
  type Message,
  type Metadata,
} from "../protocol/message.ts";
import { FramedConnection, type FramedConnectionOptions } from "../transport/framed.ts";
import type { Connection, Listener, NetworkRegistry, TlsOptions } from "../transport/network.ts";
import { defaultNetworks } from "../transport/networks.ts";
import { PeerGoneError } from "../transport/errors.ts";
import {
  defaultInprocessRegistry,
  INPROCESS_NETWORK,
  type InprocessRegistry,
  type InprocessSession,
} from "../transport/inprocess.ts";
import type { CallContext, ConnInfo } from "./context.ts";
import {
  isRegisterPlugin,
  type RegisterPlugin,
  type ServerMetrics,
  type ServerPlugin,
} from "./plugin.ts";
import { collectMethods, type ServiceEntry, type ServiceMethod } from "./service.ts";
import { loadWireCodec } from "../native/wire_codec.ts";
import { PushSender } from "./_push.ts";
import { DEFAULT_PUSH_BUFFER_SIZE, type SendMessageOptions } from "./push.ts";
import { PluginChain } from "./_plugin_chain.ts";
import { AUTH_FAILED, Dispatcher } from "./_dispatch.ts";
import { type Exchange, RequestPipeline } from "./_pipeline.ts";
import { RegistryLifecycle } from "./_registries.ts";
import {
  type ServeOptions,
  ServerClosedError,
  type ServerOptions,
  type ShutdownOptions,
} from "./options.ts";
import { openInprocessSession } from "./_inprocess.ts";
import {
  type ConnectionHost,
  ConnectionList,
  type ConnectionTimeouts,
  ServerConnection,
} from "./_connection.ts";
import type { HttpCallOutcome, HttpHost } from "../http/host.ts";
import { RpcxHttpServer } from "../http/http_server.ts";
import type { HttpLimits } from "../http/options.ts";

/** Networks whose port also serves HTTP (Go starts its gateway on tcp, tcp4, tcp6). */
const TCP_NETWORKS = new Set(["tcp", "tcp4", "tcp6"]);

interface Listening {
  network: string;
  address: string;
  listener?: Listener;
  inprocessName?: string;
}

export {
  type AuthFunction,
  type ServeOptions,
  ServerClosedError,
  type ServerOptions,
  type ShutdownOptions,
} from "./options.ts";

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
  readonly #services = new Map<string, ServiceEntry>();
  readonly #plugins: PluginChain;
  readonly #registries: RegistryLifecycle;
  readonly #dispatcher: Dispatcher;
  readonly #pipeline: RequestPipeline;
  /** The open connections, oldest first (also what pushes reach). */
  readonly #conns = new ConnectionList();
  /** The connections whose ConnInfo was made (handed to plugins, methods, pushes), by it. */
  readonly #named = new WeakMap<ConnInfo, ServerConnection>();
  readonly #listening: Listening[] = [];
  readonly #limits: DecodeLimits;
  readonly #inprocess: InprocessRegistry;
  readonly #encodeBatch: ((msgs: readonly Message[]) => Uint8Array) | undefined;
  readonly #onError: (where: string, error: unknown) => void;
  readonly #hardStop = new AbortController();
  readonly #timeouts: ConnectionTimeouts;
  readonly #host: ConnectionHost & { draining: boolean };
  readonly #push: PushSender;
  readonly #http: RpcxHttpServer;
  /** One options object shared by every connection's framing. */
  readonly #frameOptions: FramedConnectionOptions;
  /** The same for TCP connections, whose first bytes may tell HTTP (when HTTP is served). */
  readonly #tcpFrameOptions: FramedConnectionOptions;
  readonly #networks: NetworkRegistry;
  readonly #tls: TlsOptions | undefined;
  #watchdog: ReturnType<typeof setInterval> | undefined;
  #connIds = 0;
  #inFlight = 0;
  #connsGone: (() => void)[] = [];
  #shuttingDown = false;
  #shutdown: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  #closed = false;
  #serviceAddress: string | undefined;
  #stats = { startedAt: Date.now(), connectionsAccepted: 0, calls: 0 };

  /** Creates a server. */
  constructor(options: ServerOptions = {}) {
    const wire = loadWireCodec(options.wireCodec ?? options.codec ?? "auto");
    this.#limits = {
      maxMessageLength: options.maxMessageLength ?? DEFAULT_DECODE_LIMITS.maxMessageLength,
      maxDecompressedLength: options.maxDecompressedLength ??
        DEFAULT_DECODE_LIMITS.maxDecompressedLength,
      gunzip: options.gunzip ??
        (wire.implementations.gunzip === "native" ? wire.gunzip : undefined),
    };
    this.#inprocess = options.inprocessRegistry ?? defaultInprocessRegistry;
    this.#networks = options.networks ?? defaultNetworks;
    this.#tls = options.tls;
    this.#encodeBatch = options.encodeBatch ??
      (wire.name === "native" ? wire.encodeMessages : undefined);
    this.#onError = options.onError ??
      ((where, e) =>
        logger().warn(`rpcx server: ${where}`, {
          error: e instanceof Error ? e.message : String(e),
        }));
    const report = (where: string, e: unknown) => this.#report(where, e);
    this.#plugins = new PluginChain(report);
    this.#registries = new RegistryLifecycle(() => this.#services.values(), report);
    const codecs = options.codecs ?? defaultCodecs;
    // Every timed call in flight listens on this signal (CallDeadline): Node warns past 10
    // listeners (MaxListenersExceededWarning) unless told that many are expected.
    setMaxListeners(0, this.#hardStop.signal);
    this.#dispatcher = new Dispatcher({
      services: this.#services,
      codecs,
      plugins: this.#plugins,
      auth: options.auth,
      errorText: options.errorText ?? ((e) => (e instanceof Error ? e.message : String(e))),
      stop: this.#hardStop.signal,
    });
    this.#timeouts = {
      read: Math.max(options.readTimeout ?? 0, 0),
      write: Math.max(options.writeTimeout ?? 0, 0),
      idle: Math.max(options.idleTimeout ?? 0, 0),
    };
    this.#pipeline = new RequestPipeline({
      plugins: this.#plugins,
      dispatcher: this.#dispatcher,
      callStarted: () => {
        this.#inFlight++;
        this.#stats.calls++;
      },
      callEnded: () => void this.#inFlight--,
    });
    this.#host = {
      plugins: this.#plugins,
      dispatcher: this.#dispatcher,
      pipeline: this.#pipeline,
      draining: false,
      dropped: (c) => this.#dropConn(c),
      linkFailed: (c, e) => {
        if (!(e instanceof PeerGoneError)) {
          this.#report(`connection ${c.info.remoteAddress}`, e);
        }
      },
      named: (c, info) => void this.#named.set(info, c),
    };
    // A connection's first read takes 64 bytes (a small call fits; a bigger one is read on at
    // once in a buffer sized from its header): idle connections hold little.
    this.#frameOptions = {
      ...this.#limits,
      encodeBatch: this.#encodeBatch,
      initialReadBufferSize: 64,
    };
    this.#push = new PushSender({
      find: (info) => {
        const c = this.#named.get(info);
        return c !== undefined && this.#conns.has(c) ? c : undefined;
      },
      active: () => Array.from(this.#conns, (c) => c.info),
      bufferSize: options.pushBufferSize ?? DEFAULT_PUSH_BUFFER_SIZE,
      codecs,
      plugins: this.#plugins,
    });
    const plugins = this.#plugins;
    const host: HttpHost = {
      handle: (req, conn, write) => this.#handleHttp(req, conn, write),
      preReadHttp: (conn) => plugins.preReadHttp(conn),
      preReadJsonRpc: (conn) => plugins.preReadJsonRpc(conn),
      postHTTPRequest: (req, conn) => plugins.postHTTPRequest(req, conn),
      report: (where, e) => this.#report(where, e),
      errorText: options.errorText ?? ((e) => (e instanceof Error ? e.message : String(e))),
    };
    this.#http = new RpcxHttpServer(host, {
      ...options,
      maxBodyLength: this.#limits.maxMessageLength,
    });
    // HTTP invoke and JSON-RPC share a TCP port: the first byte tells (as Go's cmux).
    this.#tcpFrameOptions = this.#http.enabled
      ? {
        ...this.#frameOptions,
        sniff: (head, stream, sc) =>
          head[0] !== MAGIC_NUMBER &&
          this.#http.take(stream as Connection, head, (sc as ServerConnection).info),
      }
      : this.#frameOptions;
    for (const p of options.plugins ?? []) this.use(p);
  }

  /** One request from the HTTP side, through the same pipeline as a frame from a connection. */
  async #handleHttp(
    req: Message,
    info: ConnInfo,
    write: (res: Message, closing: boolean) => void | Promise<void>,
  ): Promise<HttpCallOutcome> {
    let writing: void | Promise<void> | undefined;
    let wrote = false;
    const ex: Exchange = {
      refused: () => {},
      take: () => !this.#host.draining,
      write: (res, closing) => {
        wrote = true;
        writing = write(res, closing);
      },
      written: async () => await writing,
    };
    const out = await this.#pipeline.handle(req, info, ex);
    if (out === "refused") {
      return { kind: "refused", error: "rpcx: request refused by a postReadRequest plugin" };
    }
    if (out === "untaken") return { kind: "refused", error: new ServerClosedError() };
    if (wrote) {
      await writing;
      return { kind: "written" };
    }
    if (typeof out === "object" && out.close) return { kind: "auth", error: AUTH_FAILED };
    return { kind: "reply", res: undefined };
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
    return [...this.#services.keys()];
  }

  /** The server's counters. */
  metrics(): ServerMetrics {
    return {
      startedAt: this.#stats.startedAt,
      connectionsAccepted: this.#stats.connectionsAccepted,
      activeConnections: this.#conns.size,
      calls: this.#stats.calls,
      inFlight: this.#inFlight,
    };
  }

  /**
   * Adds a plugin. A registry plugin added after `serve` is started and told about every
   * service right away (errors are reported through `onError`).
   */
  use(plugin: ServerPlugin): this {
    this.#plugins.add(plugin);
    if (this.#serviceAddress && isRegisterPlugin(plugin)) {
      this.#startRegistry(plugin).catch((e) =>
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
    const serviceName = name ?? service.constructor?.name;
    if (!serviceName || serviceName === "Object") {
      throw new TypeError("register: give the service a name (plain objects have no class name)");
    }
    const methods = collectMethods(service);
    if (methods.size === 0) throw new TypeError(`register: ${serviceName} has no methods`);
    return this.#add(serviceName, methods, service, metadata);
  }

  /** Registers one function as method `name` (default: the function's name) of `servicePath`. */
  registerFunction(
    servicePath: string,
    fn: ServiceMethod,
    metadata = "",
    name: string = fn.name,
  ): Promise<void> {
    if (!name) throw new TypeError("registerFunction: the function needs a name");
    const methods = new Map([[name, fn as (args: unknown, ctx: CallContext) => unknown]]);
    return this.#add(servicePath, methods, fn, metadata);
  }

  async #add(
    name: string,
    methods: Map<string, (args: unknown, ctx: CallContext) => unknown>,
    receiver: unknown,
    metadata: string,
  ): Promise<void> {
    this.#plugins.beforeRegister(name, receiver, metadata);
    const existing = this.#services.get(name);
    if (existing) {
      for (const [k, v] of methods) existing.methods.set(k, v);
      existing.metadata = metadata || existing.metadata;
    } else {
      this.#services.set(name, { name, methods, metadata, receiver });
    }
    this.#plugins.afterRegister(name, receiver, metadata);
    const entry = this.#services.get(name)!;
    for (const l of this.#listening) {
      if (l.inprocessName) this.#inprocess.registerService(l.inprocessName, name, entry.metadata);
    }
    if (!existing) await this.#registries.register(entry);
  }

  /** Withdraws a service: registries are told, and it is no longer callable. */
  async unregister(name: string): Promise<void> {
    if (!this.#services.delete(name)) return;
    for (const l of this.#listening) {
      if (l.inprocessName) this.#inprocess.unregisterService(l.inprocessName, name);
    }
    await this.#registries.unregister(name);
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
   * import { createMessage, jsonCodec, SerializeType, Server } from "@rpcx/core";
   * const server = new Server();
   * await server.register({ Mul: (a: { A: number; B: number }) => ({ C: a.A * a.B }) }, "Arith");
   * const res = await server.handleMessage(createMessage({
   *   seq: 1n, servicePath: "Arith", serviceMethod: "Mul", serializeType: SerializeType.JSON,
   *   payload: jsonCodec.encode({ A: 2, B: 3 }),
   * }));
   * console.log(jsonCodec.decode(res!.payload)); // { C: 6 }
   * ```
   */
  async handleMessage(req: Message, conn?: ConnInfo): Promise<Message | undefined> {
    const info = conn ?? {
      id: 0,
      network: "none",
      remoteAddress: "",
      localAddress: this.#serviceAddress ?? "",
    };
    let out: Message | undefined;
    const handled = await this.#pipeline.handle(req, info, {
      refused: () => {},
      take: () => true,
      // The caller gets the response as it was when written: what postWriteResponse changes
      // after is not in it (as on a connection).
      write: (res) => void (out = { ...res, metadata: { ...res.metadata } }),
      written: () => Promise.resolve(),
    });
    if (handled === "refused") {
      throw new RpcxError("rpcx: request refused by a postReadRequest plugin");
    }
    return out;
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
    if (this.#closed || this.#shuttingDown) throw new ServerClosedError();
    let bound: string;
    if (network === INPROCESS_NETWORK) {
      this.#inprocess.addServer(address, { open: (c, d, x) => this.#openInprocess(c, d, x) });
      for (const s of this.#services.values()) {
        this.#inprocess.registerService(address, s.name, s.metadata);
      }
      this.#listening.push({ network, address, inprocessName: address });
      bound = address;
    } else {
      const tls = options.tls ?? this.#tls;
      // Go sets the read deadline before the TLS handshake: a peer gets readTimeout to finish it.
      const handshakeTimeout = options.handshakeTimeout ??
        (this.#timeouts.read > 0 ? this.#timeouts.read : undefined);
      const listener = await this.#networks.get(network).listen(address, {
        ...options,
        tls,
        handshakeTimeout,
      });
      bound = listener.address;
      this.#listening.push({ network, address: bound, listener });
      void this.#acceptLoop(listener);
    }
    this.#startWatchdog();
    if (!this.#serviceAddress) {
      this.#serviceAddress = `${network}@${bound}`;
      try {
        for (const p of this.#plugins.registries()) await this.#startRegistry(p);
      } catch (e) {
        // Not advertised means not served: undo the listener so the caller can retry.
        const l = this.#listening.pop()!;
        await l.listener?.close();
        if (l.inprocessName) this.#inprocess.removeServer(l.inprocessName);
        this.#serviceAddress = undefined;
        await this.#registries.stopAll();
        throw e;
      }
    }
    return bound;
  }

  #startRegistry(p: RegisterPlugin): Promise<void> {
    return this.#registries.start(p, {
      serviceAddress: this.#serviceAddress!,
      metrics: () => this.metrics(),
    });
  }

  /** One timer for every connection's timeouts (none when no timeout is set). */
  #startWatchdog(): void {
    const t = this.#timeouts;
    const shortest = Math.min(...[t.read, t.write, t.idle].filter((v) => v > 0));
    if (this.#watchdog !== undefined || !Number.isFinite(shortest)) return;
    const every = Math.min(Math.max(Math.floor(shortest / 4), 10), 1000);
    this.#watchdog = setInterval(() => {
      const now = Date.now();
      for (const c of this.#conns) c.check(now, t);
    }, every);
    runtime().timers.unref(this.#watchdog);
  }

  async #acceptLoop(listener: Listener): Promise<void> {
    for await (const conn of listener) {
      if (this.#shuttingDown || this.#closed) {
        conn.close();
        continue;
      }
      this.#accept(conn, listener.address);
    }
  }

  #accept(conn: Connection, localAddress: string): void {
    const sc = new ServerConnection(++this.#connIds, conn, localAddress, this.#host);
    const fc = new FramedConnection(
      conn,
      sc,
      TCP_NETWORKS.has(conn.network) ? this.#tcpFrameOptions : this.#frameOptions,
    );
    sc.attach(fc);
    if (!this.#acceptConn(sc)) {
      fc.close();
      return;
    }
    fc.start();
  }

  #openInprocess(
    clientName: string,
    deliver: (msg: Message) => void,
    closed: () => void,
  ): InprocessSession {
    const sc = new ServerConnection(
      ++this.#connIds,
      { network: INPROCESS_NETWORK, remoteAddress: clientName },
      this.#serviceAddress ?? INPROCESS_NETWORK,
      this.#host,
    );
    return openInprocessSession(sc, deliver, closed, () => this.#acceptConn(sc));
  }

  #acceptConn(sc: ServerConnection): boolean {
    if (this.#shuttingDown || this.#closed) return false;
    if (this.#plugins.has("connAccept") && !this.#plugins.connAccept(sc.info)) return false;
    if (!sc.readyToRead()) return false;
    this.#stats.connectionsAccepted++;
    this.#conns.add(sc);
    return true;
  }

  #dropConn(sc: ServerConnection): void {
    if (!this.#conns.delete(sc)) return;
    if (this.#plugins.has("connClose")) this.#plugins.connClose(sc.info);
    if (this.#conns.size === 0 && this.#connsGone.length > 0) {
      const w = this.#connsGone;
      this.#connsGone = [];
      for (const f of w) f();
    }
  }

  #report(where: string, e: unknown): void {
    if (this.#closed) return;
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
    if (this.#closed) return Promise.resolve();
    this.#shutdown ??= this.#drain(options);
    return this.#shutdown;
  }

  async #drain(options: ShutdownOptions): Promise<void> {
    this.#shuttingDown = true;
    this.#host.draining = true;
    void this.#stopListening();
    const registries = this.#registries.stopAll();
    this.#http.drain();
    for (const c of [...this.#conns]) c.drain();
    const gone = this.#conns.size === 0 ? Promise.resolve() : new Promise<void>((r) => {
      this.#connsGone.push(r);
    });
    let timer: ReturnType<typeof setTimeout> | undefined;
    let onAbort: (() => void) | undefined;
    const bound = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, options.timeout ?? 10_000);
      onAbort = () => resolve();
      if (options.signal?.aborted) resolve();
      options.signal?.addEventListener("abort", onAbort, { once: true });
    });
    try {
      await Promise.race([Promise.all([registries, gone, this.#http.drained()]), bound]);
    } finally {
      clearTimeout(timer);
      if (onAbort) options.signal?.removeEventListener("abort", onAbort);
    }
    await this.close();
  }

  /**
   * Closes the listeners and leaves the in-process registry (idempotent); resolves once every
   * listened address is free again.
   */
  #stopListening(): Promise<void> {
    const released: (void | Promise<void>)[] = [];
    for (const l of this.#listening) {
      try {
        released.push(l.listener?.close());
      } catch (e) {
        this.#report(`close listener ${l.network}@${l.address}`, e);
      }
      if (l.inprocessName) this.#inprocess.removeServer(l.inprocessName);
    }
    return Promise.all(released).then(() => {}, (e) => this.#report("close listener", e));
  }

  /**
   * Closes at once: listeners, connections; in-flight calls' signals are aborted. Registries
   * are told to withdraw the services (errors are reported). Resolves once every address it
   * listened on is free again (a new Server may `serve` there at once, as after Go's `Close`).
   */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closing ??= this.#closeNow();
    return this.#closing;
  }

  async #closeNow(): Promise<void> {
    this.#shuttingDown = true;
    this.#host.draining = true;
    const released = this.#stopListening();
    this.#http.close();
    for (const c of [...this.#conns]) c.close();
    this.#conns.clear();
    this.#hardStop.abort(new ServerClosedError());
    if (this.#watchdog !== undefined) clearInterval(this.#watchdog);
    await Promise.all([this.#registries.stopAll(), released]);
    this.#closed = true;
  }

  /**
   * Shuts down gracefully on SIGINT or SIGTERM (unregistering from registries), then exits
   * the process (unless `exit` is false). The shutdown is bounded by `timeout` (default 10 s).
   * Returns a function that removes the handlers.
   */
  shutdownOnSignals(options: ShutdownOptions & { exit?: boolean } = {}): () => void {
    const process = runtime().process;
    const remove = process.onSignals(["SIGINT", "SIGTERM"], () => {
      remove();
      this.shutdown(options).finally(() => {
        if (options.exit !== false) process.exit(0);
      });
    });
    return remove;
  }
}
