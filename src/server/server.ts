/**
 * The rpcx server: registers services, serves them over TCP or in-process, and advertises them
 * through registry plugins.
 *
 * @module
 */
import { type CodecRegistry, defaultCodecs } from "../codec/registry.ts";
import {
  CompressType,
  MessageStatusType,
  MessageType,
  MetadataKeys,
} from "../protocol/constants.ts";
import { RpcxError } from "../protocol/errors.ts";
import {
  createMessage,
  type DecodeLimits,
  DEFAULT_DECODE_LIMITS,
  type Message,
  type Metadata,
} from "../protocol/message.ts";
import { FramedConnection, joinHostPort, splitHostPort } from "../protocol/transport.ts";
import {
  defaultInprocessRegistry,
  INPROCESS_NETWORK,
  type InprocessRegistry,
  type InprocessSession,
} from "../registry/inprocess.ts";
import type { CallContext } from "./context.ts";
import {
  type ConnInfo,
  isRegisterPlugin,
  type RegisterPlugin,
  type ServerMetrics,
  type ServerPlugin,
} from "./plugin.ts";
import { collectMethods, type ServiceEntry, type ServiceMethod } from "./service.ts";
import { loadWireCodec, type WireCodecMode } from "../native/wire_codec.ts";
import { PushSender } from "./_push.ts";
import { DEFAULT_PUSH_BUFFER_SIZE, type SendMessageOptions } from "./push.ts";

/**
 * Checks a request's `__AUTH` token. Return false or throw to refuse: the caller gets an error
 * reply and its connection is closed (as in Go rpcx).
 *
 * @example
 * ```ts
 * import { type AuthFunction, Server } from "@rpcx/core";
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
 * Options of a {@linkcode Server}.
 *
 * @example
 * ```ts
 * import { Server, type ServerOptions } from "@rpcx/core";
 * const options: ServerOptions = { maxMessageLength: 1 << 20 };
 * new Server(options);
 * ```
 */
export interface ServerOptions extends Partial<DecodeLimits> {
  /** Token check for every non-heartbeat request. */
  auth?: AuthFunction;
  /** Plugins to add now (same as calling `use`). */
  plugins?: ServerPlugin[];
  /** Codec table (default: the process-wide {@linkcode defaultCodecs}). */
  codecs?: CodecRegistry;
  /** Registry used by `serve("inprocess", name)` (default: the process-wide one). */
  inprocessRegistry?: InprocessRegistry;
  /**
   * Wire codec path: `auto` (default) uses the native library for what it does faster when it
   * can be loaded (`--allow-ffi`), else pure TS; `ts` never loads it; `native` requires it.
   */
  wireCodec?: WireCodecMode;
  /**
   * Old name of {@linkcode wireCodec}.
   *
   * @deprecated Use `wireCodec` (the payload codecs are `codecs`); removed in the next release.
   */
  codec?: WireCodecMode;
  /** Batch encoder for socket writes; overrides `wireCodec` for encoding. */
  encodeBatch?: (msgs: readonly Message[]) => Uint8Array;
  /** Turns an error into the `__rpcx_error__` text (default: its message). */
  errorText?: (error: unknown) => string;
  /**
   * Bytes of pushes ({@linkcode Server.sendMessage}) a connection may have queued and not yet
   * written before further pushes fail with `PushBufferFullError` (default
   * {@linkcode DEFAULT_PUSH_BUFFER_SIZE}, 4 MiB).
   */
  pushBufferSize?: number;
}

/**
 * Options of {@linkcode Server.shutdown}.
 *
 * @example
 * ```ts
 * import type { ShutdownOptions } from "@rpcx/core";
 * const o: ShutdownOptions = { timeout: 5000 };
 * console.log(o.timeout);
 * ```
 */
export interface ShutdownOptions {
  /** How long in-flight calls may take to finish, in ms (default 10 000). */
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

/** Reason used when auth refuses without an error of its own. */
const AUTH_FAILED = "rpcx: auth failed";

interface ServerConn {
  readonly info: ConnInfo;
  send(msg: Message): void;
  close(): void;
  drained(): Promise<void>;
  inFlight: number;
}

interface Listening {
  network: string;
  address: string;
  listener?: Deno.Listener;
  inprocessName?: string;
}

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
  readonly #plugins: ServerPlugin[] = [];
  readonly #conns = new Set<ServerConn>();
  readonly #listening: Listening[] = [];
  readonly #limits: DecodeLimits;
  readonly #codecs: CodecRegistry;
  readonly #inprocess: InprocessRegistry;
  readonly #auth: AuthFunction | undefined;
  readonly #encodeBatch: ((msgs: readonly Message[]) => Uint8Array) | undefined;
  readonly #errorText: (error: unknown) => string;
  readonly #hardStop = new AbortController();
  readonly #startedRegistries = new Set<RegisterPlugin>();
  #connIds = 0;
  #inFlight = 0;
  #idleWaiters: (() => void)[] = [];
  #shuttingDown = false;
  #closed = false;
  #serviceAddress: string | undefined;
  #stats = { startedAt: Date.now(), connectionsAccepted: 0, calls: 0 };
  readonly #push: PushSender;

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
    this.#codecs = options.codecs ?? defaultCodecs;
    this.#inprocess = options.inprocessRegistry ?? defaultInprocessRegistry;
    this.#auth = options.auth;
    this.#encodeBatch = options.encodeBatch ??
      (wire.name === "native" ? wire.encodeMessages : undefined);
    this.#errorText = options.errorText ??
      ((e) => (e instanceof Error ? e.message : String(e)));
    for (const p of options.plugins ?? []) this.use(p);
    this.#push = new PushSender({
      bufferSize: options.pushBufferSize ?? DEFAULT_PUSH_BUFFER_SIZE,
      codecs: this.#codecs,
      plugins: this.#plugins,
      report: (what, e) => this.#report(what, e),
    });
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
   * service right away (errors are reported on the console).
   */
  use(plugin: ServerPlugin): this {
    this.#plugins.push(plugin);
    if (this.#serviceAddress && isRegisterPlugin(plugin)) {
      this.#startRegistry(plugin).catch((e) =>
        console.error(`rpcx: registry plugin ${plugin.name ?? ""} failed: ${e}`)
      );
    }
    return this;
  }

  /**
   * Registers the methods of `service` under `name` (default: its class name), with a metadata
   * string for registries (e.g. `weight=10&group=a`). Resolves once registries were told.
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
    for (const p of this.#plugins) p.beforeRegister?.(name, receiver, metadata);
    const existing = this.#services.get(name);
    if (existing) {
      for (const [k, v] of methods) existing.methods.set(k, v);
      existing.metadata = metadata || existing.metadata;
    } else {
      this.#services.set(name, { name, methods, metadata, receiver });
    }
    for (const p of this.#plugins) p.afterRegister?.(name, receiver, metadata);
    const entry = this.#services.get(name)!;
    for (const l of this.#listening) {
      if (l.inprocessName) this.#inprocess.registerService(l.inprocessName, name, entry.metadata);
    }
    if (!existing) {
      for (const p of this.#startedRegistries) await p.register(name, receiver, entry.metadata);
    }
  }

  /** Withdraws a service: registries are told, and it is no longer callable. */
  async unregister(name: string): Promise<void> {
    if (!this.#services.delete(name)) return;
    for (const l of this.#listening) {
      if (l.inprocessName) this.#inprocess.unregisterService(l.inprocessName, name);
    }
    for (const p of this.#startedRegistries) await p.unregister(name);
  }

  /**
   * Starts serving. `network` is `tcp` (also `tcp4`, `tcp6`) with `host:port` (port 0 picks a
   * free one), or `inprocess` with a name. Resolves with the bound address once listening and
   * registries (plugins) were told. If a registry plugin fails to start, the listener is closed
   * again and the error is thrown.
   */
  async serve(network: string, address: string): Promise<string> {
    if (this.#closed || this.#shuttingDown) throw new ServerClosedError();
    let bound: string;
    if (network === INPROCESS_NETWORK) {
      this.#inprocess.addServer(address, { open: (c, d, x) => this.#openInprocess(c, d, x) });
      for (const s of this.#services.values()) {
        this.#inprocess.registerService(address, s.name, s.metadata);
      }
      this.#listening.push({ network, address, inprocessName: address });
      bound = address;
    } else if (network === "tcp" || network === "tcp4" || network === "tcp6") {
      const { hostname, port } = splitHostPort(address);
      const listener = Deno.listen({ hostname, port, transport: "tcp" });
      const addr = listener.addr as Deno.NetAddr;
      bound = joinHostPort(addr.hostname, addr.port);
      this.#listening.push({ network, address: bound, listener });
      void this.#acceptLoop(listener, bound);
    } else {
      throw new TypeError(`serve: unsupported network ${network} (use tcp or inprocess)`);
    }
    if (!this.#serviceAddress) {
      this.#serviceAddress = `${network}@${bound}`;
      try {
        for (const p of this.#plugins) {
          if (isRegisterPlugin(p)) await this.#startRegistry(p);
        }
      } catch (e) {
        // Not advertised means not served: undo the listener so the caller can retry.
        const l = this.#listening.pop()!;
        try {
          l.listener?.close();
        } catch {
          // already closed
        }
        if (l.inprocessName) this.#inprocess.removeServer(l.inprocessName);
        this.#serviceAddress = undefined;
        await this.#stopRegistries();
        throw e;
      }
    }
    return bound;
  }

  async #startRegistry(p: RegisterPlugin): Promise<void> {
    if (this.#startedRegistries.has(p)) return;
    await p.start?.({ serviceAddress: this.#serviceAddress!, metrics: () => this.metrics() });
    this.#startedRegistries.add(p);
    for (const s of this.#services.values()) await p.register(s.name, s.receiver, s.metadata);
  }

  async #acceptLoop(listener: Deno.Listener, localAddress: string): Promise<void> {
    try {
      for await (const conn of listener) {
        if (this.#shuttingDown || this.#closed) {
          conn.close();
          continue;
        }
        this.#acceptTcp(conn as Deno.TcpConn, localAddress);
      }
    } catch {
      // listener closed
    }
  }

  #acceptTcp(conn: Deno.TcpConn, localAddress: string): void {
    try {
      conn.setNoDelay(true);
    } catch {
      // not fatal
    }
    const remote = conn.remoteAddr as Deno.NetAddr;
    const info: ConnInfo = {
      id: ++this.#connIds,
      network: "tcp",
      remoteAddress: joinHostPort(remote.hostname, remote.port),
      localAddress,
    };
    const fc: FramedConnection = new FramedConnection(conn, {
      onMessage: (msg) => this.#onRequest(sc, msg),
      onError: (e) => {
        if (!(e instanceof Deno.errors.ConnectionReset || e instanceof Deno.errors.BrokenPipe)) {
          this.#report(`connection ${info.remoteAddress}`, e);
        }
      },
      onClose: () => this.#dropConn(sc),
    }, { ...this.#limits, encodeBatch: this.#encodeBatch });
    const sc: ServerConn = {
      info,
      send: (m) => fc.send(m),
      close: () => fc.close(),
      drained: () => fc.drained(),
      inFlight: 0,
    };
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
    let open = true;
    const info: ConnInfo = {
      id: ++this.#connIds,
      network: INPROCESS_NETWORK,
      remoteAddress: clientName,
      localAddress: this.#serviceAddress ?? INPROCESS_NETWORK,
    };
    const sc: ServerConn = {
      info,
      send: (m) => {
        if (open) queueMicrotask(() => open && deliver(m));
      },
      close: () => {
        if (!open) return;
        open = false;
        this.#dropConn(sc);
        closed();
      },
      drained: () => Promise.resolve(),
      inFlight: 0,
    };
    if (!this.#acceptConn(sc)) {
      open = false;
      queueMicrotask(closed);
    }
    return {
      send: (msg) => {
        if (open) this.#onRequest(sc, msg);
      },
      close: () => {
        if (!open) return;
        open = false;
        this.#dropConn(sc);
      },
    };
  }

  #acceptConn(sc: ServerConn): boolean {
    if (this.#shuttingDown || this.#closed) return false;
    for (const p of this.#plugins) {
      try {
        if (p.connAccept?.(sc.info) === false) return false;
      } catch (e) {
        this.#report("connAccept plugin", e);
        return false;
      }
    }
    this.#stats.connectionsAccepted++;
    this.#conns.add(sc);
    this.#push.attach(sc);
    return true;
  }

  #dropConn(sc: ServerConn): void {
    if (!this.#conns.delete(sc)) return;
    this.#push.detach(sc);
    for (const p of this.#plugins) {
      try {
        p.connClose?.(sc.info);
      } catch (e) {
        this.#report("connClose plugin", e);
      }
    }
  }

  #onRequest(sc: ServerConn, req: Message): void {
    if (this.#shuttingDown) return; // draining: new requests are not taken; the client retries
    for (const p of this.#plugins) {
      if (!p.postReadRequest) continue;
      try {
        p.postReadRequest(req, sc.info);
      } catch (e) {
        this.#report("postReadRequest plugin", e);
        sc.close();
        return;
      }
    }
    if (req.messageType !== MessageType.Request) return; // responses from a client: ignore
    if (req.heartbeat) {
      for (const p of this.#plugins) p.heartbeat?.(req, sc.info);
      sc.send({ ...req, messageType: MessageType.Response });
      return;
    }
    this.#inFlight++;
    sc.inFlight++;
    this.#stats.calls++;
    void this.#handle(sc, req).finally(() => {
      sc.inFlight--;
      if (--this.#inFlight === 0) {
        const w = this.#idleWaiters;
        this.#idleWaiters = [];
        for (const f of w) f();
      }
    });
  }

  async #handle(sc: ServerConn, req: Message): Promise<void> {
    const replyMetadata: Metadata = {};
    if (this.#auth) {
      let ok: boolean | void = false;
      let reason: unknown = AUTH_FAILED;
      try {
        ok = await this.#auth(req.metadata[MetadataKeys.Auth], req, sc.info);
      } catch (e) {
        reason = e;
      }
      if (ok === false) {
        if (!req.oneway) {
          sc.send(this.#errorReply(req, reason, replyMetadata));
          await sc.drained();
        }
        sc.close();
        return;
      }
    }
    const timeoutText = req.metadata[MetadataKeys.ServerTimeout];
    const timeoutMs = timeoutText ? Number.parseInt(timeoutText, 10) : NaN;
    const deadline = Number.isFinite(timeoutMs) && timeoutMs > 0
      ? Date.now() + timeoutMs
      : undefined;
    const signal = deadline === undefined
      ? this.#hardStop.signal
      : AbortSignal.any([this.#hardStop.signal, AbortSignal.timeout(timeoutMs)]);
    const ctx: CallContext = {
      servicePath: req.servicePath,
      serviceMethod: req.serviceMethod,
      metadata: req.metadata,
      replyMetadata,
      remoteAddress: sc.info.remoteAddress,
      conn: sc.info,
      deadline,
      signal,
      serializeType: req.serializeType,
      seq: req.seq,
    };
    let res: Message;
    try {
      const payload = await this.#call(req, ctx);
      res = createMessage({
        version: req.version,
        messageType: MessageType.Response,
        compressType: payload.byteLength > 1024 && req.compressType !== CompressType.None
          ? req.compressType
          : CompressType.None,
        serializeType: req.serializeType,
        seq: req.seq,
        servicePath: req.servicePath,
        serviceMethod: req.serviceMethod,
        metadata: replyMetadata,
        payload,
      });
    } catch (e) {
      res = this.#errorReply(req, e, replyMetadata);
    }
    if (req.oneway || sc.info === undefined) return;
    for (const p of this.#plugins) p.preWriteResponse?.(req, res);
    sc.send(res);
    for (const p of this.#plugins) p.postWriteResponse?.(req, res);
  }

  async #call(req: Message, ctx: CallContext): Promise<Uint8Array> {
    const service = this.#services.get(req.servicePath);
    if (!service) throw new RpcxError(`rpcx: can't find service ${req.servicePath}`);
    const method = service.methods.get(req.serviceMethod);
    if (!method) throw new RpcxError(`rpcx: can't find method ${req.serviceMethod}`);
    const codec = this.#codecs.get(req.serializeType);
    let args = codec.decode(req.payload);
    for (const p of this.#plugins) if (p.preCall) args = await p.preCall(ctx, args);
    let reply: unknown;
    let error: unknown;
    try {
      reply = await method(args, ctx);
    } catch (e) {
      error = e;
    }
    for (const p of this.#plugins) {
      if (!p.postCall) continue;
      try {
        reply = await p.postCall(ctx, args, reply, error);
      } catch (e) {
        error ??= e;
      }
    }
    if (error !== undefined) throw error;
    if (req.oneway) return new Uint8Array(0);
    return codec.encode(reply);
  }

  #errorReply(req: Message, error: unknown, metadata: Metadata): Message {
    metadata[MetadataKeys.ServiceError] = this.#errorText(error);
    return createMessage({
      version: req.version,
      messageType: MessageType.Response,
      status: MessageStatusType.Error,
      serializeType: req.serializeType,
      seq: req.seq,
      servicePath: req.servicePath,
      serviceMethod: req.serviceMethod,
      metadata,
    });
  }

  #report(what: string, e: unknown): void {
    if (this.#closed) return;
    console.error(`rpcx server: ${what}: ${e instanceof Error ? e.message : e}`);
  }

  /**
   * Graceful shutdown: stops accepting connections and requests, withdraws every service from
   * the registries, lets in-flight calls finish (up to `timeout`), then closes connections.
   */
  async shutdown(options: ShutdownOptions = {}): Promise<void> {
    if (this.#closed) return;
    if (this.#shuttingDown) return await this.#waitIdle(options);
    this.#shuttingDown = true;
    this.#stopListening();
    await this.#stopRegistries();
    await this.#waitIdle(options);
    await Promise.all([...this.#conns].map((c) => c.drained()));
    await this.close();
  }

  #waitIdle(options: ShutdownOptions): Promise<void> {
    if (this.#inFlight === 0) return Promise.resolve();
    const timeout = options.timeout ?? 10_000;
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, timeout);
      const onAbort = () => done();
      options.signal?.addEventListener("abort", onAbort, { once: true });
      this.#idleWaiters.push(done);
      function done() {
        clearTimeout(timer);
        options.signal?.removeEventListener("abort", onAbort);
        resolve();
      }
    });
  }

  /** Closes the listeners and leaves the in-process registry (idempotent). */
  #stopListening(): void {
    for (const l of this.#listening) {
      try {
        l.listener?.close();
      } catch {
        // already closed
      }
      if (l.inprocessName) this.#inprocess.removeServer(l.inprocessName);
    }
  }

  async #stopRegistries(): Promise<void> {
    const plugins = [...this.#startedRegistries];
    this.#startedRegistries.clear();
    await Promise.all(plugins.map(async (p) => {
      for (const name of this.#services.keys()) {
        try {
          await p.unregister(name);
        } catch (e) {
          this.#report(`registry plugin ${p.name ?? ""} unregister ${name}`, e);
        }
      }
      try {
        await p.stop?.();
      } catch (e) {
        this.#report(`registry plugin ${p.name ?? ""} stop`, e);
      }
    }));
  }

  /** Closes at once: listeners, connections, registries; in-flight calls are aborted. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#shuttingDown = true;
    this.#stopListening();
    await this.#stopRegistries();
    this.#closed = true;
    this.#hardStop.abort(new ServerClosedError());
    for (const c of [...this.#conns]) c.close();
    this.#conns.clear();
  }

  /**
   * Shuts down gracefully on SIGINT or SIGTERM (unregistering from registries), then exits
   * the process (unless `exit` is false). Returns a function that removes the handlers.
   */
  shutdownOnSignals(options: ShutdownOptions & { exit?: boolean } = {}): () => void {
    const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
    const handler = () => {
      remove();
      this.shutdown(options).finally(() => {
        if (options.exit !== false) Deno.exit(0);
      });
    };
    const remove = () => {
      for (const s of signals) {
        try {
          Deno.removeSignalListener(s, handler);
        } catch {
          // not added
        }
      }
    };
    for (const s of signals) Deno.addSignalListener(s, handler);
    return remove;
  }
}
