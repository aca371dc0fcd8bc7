/**
 * The one-connection rpcx client.
 *
 * @module
 */
import type { Codec } from "../codec/codec.ts";
import { type TypedClient, typedProxy } from "./typed.ts";
import { type CodecRegistry, defaultCodecs } from "../codec/registry.ts";
import {
  CompressType,
  MessageStatusType,
  MessageType,
  MetadataKeys,
  SerializeType,
} from "../protocol/constants.ts";
import {
  createMessage,
  type DecodeLimits,
  DEFAULT_DECODE_LIMITS,
  HEADER_LENGTH,
  type Message,
  type Metadata,
  prepareMessage,
} from "../protocol/message.ts";
import { FrameTooLargeError } from "../protocol/errors.ts";
import { FramedConnection } from "../transport/framed.ts";
import type { Connection, NetworkRegistry, TlsOptions } from "../transport/network.ts";
import { defaultNetworks } from "../transport/networks.ts";
import { ConnectionRefusedError } from "../transport/errors.ts";
import { deadlines, type Expiring, type Lane } from "./_deadlines.ts";
import { loadWireCodec, type WireCodecMode } from "../native/wire_codec.ts";
import {
  defaultInprocessRegistry,
  INPROCESS_NETWORK,
  type InprocessRegistry,
} from "../transport/inprocess.ts";
import {
  CallAbortedError,
  CallTimeoutError,
  ClientClosedError,
  ConnectionClosedError,
  ConnectionError,
  ServiceError,
} from "./errors.ts";
import { type ClientCall, type ClientPlugin, ClientPluginChain } from "./plugin.ts";
import { isServerPush, PushReceivers, toServerMessage } from "./_push.ts";
import type { ServerMessageHandler, ServerMessagesOptions, ServerMessageStream } from "./push.ts";

/**
 * Options of {@linkcode Client} (and of each connection an XClient opens). Defaults follow
 * Go rpcx: MsgPack, no compression, 1 s connect timeout. `maxMessageLength` (default 16 MiB)
 * bounds both the replies read and the requests written: a longer request fails alone with
 * {@linkcode FrameTooLargeError} before it is sent.
 *
 * @example
 * ```ts
 * import { type ClientOptions, SerializeType } from "@rpcx/core";
 * const o: ClientOptions = { serializeType: SerializeType.JSON, heartbeat: true };
 * console.log(o.serializeType); // 1
 * ```
 */
export interface ClientOptions extends Partial<DecodeLimits> {
  /** Serializer of requests (default MsgPack, as Go's client). */
  serializeType?: number;
  /** Compression of requests (default None); as in Go, only payloads over 1024 bytes. */
  compressType?: CompressType;
  /** Dial timeout in ms (default 1000). */
  connectTimeout?: number;
  /** Default per-call timeout in ms (default none). */
  timeout?: number;
  /** Send heartbeats while connected. */
  heartbeat?: boolean;
  /** Heartbeat period in ms (default 10 000). */
  heartbeatInterval?: number;
  /** Close the connection when a heartbeat gets no reply within this many ms (default 30 000). */
  maxWaitForHeartbeat?: number;
  /** Token sent as `__AUTH` with every call. */
  auth?: string;
  /** Codec table (default: the process-wide one). */
  codecs?: CodecRegistry;
  /** The HTTP path of the `http` and `ws`/`wss` networks (default `/_rpcx_`, Go's `Option.RPCPath`). */
  rpcPath?: string;
  /** Networks by name (default: `defaultNetworks`): `tcp`, `unix`, `http`, `ws`, `wss`, yours. */
  networks?: NetworkRegistry;
  /**
   * TLS for `tcp`, `http` and `wss` (Go's `client.Option.TLSConfig`): `caCerts` to trust,
   * `serverName`, and `certChain`/`privateKey` for mutual TLS.
   */
  tls?: TlsOptions;
  /** Registry that resolves `inprocess@name` addresses. */
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
  /** Client plugins, run in this order (see {@linkcode ClientPlugin}). Go: `Client.Plugins`. */
  plugins?: readonly ClientPlugin[];
  /**
   * Called with every message the server pushes (Go: `Server.SendMessage`, received by Go's
   * `ServerMessageChan`). See also `serverMessages()`. A push that neither this nor a
   * `serverMessages()` stream receives is dropped, and the first drop is logged.
   */
  onServerMessage?: ServerMessageHandler;
  /**
   * Go's `Option.BidirectionalBlock`: instead of dropping pushes when a `serverMessages()` stream
   * is full, stop reading the connection until it has room again (and until a promise returned
   * by `onServerMessage` settles). The server's writes then wait on the socket, so a slow reader
   * slows the pusher down (a Deno server's `sendMessage` fails with `PushBufferFullError` once
   * its queue for the connection is full). Replies on the same connection wait too. TCP only:
   * in-process connections always drop. Default false (drop, as Go).
   */
  bidirectionalBlock?: boolean;
}

/**
 * Options of one call.
 *
 * @example
 * ```ts
 * import type { CallOptions } from "@rpcx/core";
 * const o: CallOptions = { timeout: 500, metadata: { trace: "abc" } };
 * console.log(o.timeout);
 * ```
 */
export interface CallOptions {
  /** Give up after this many ms (also sent to the server as `__ServerTimeout`). */
  timeout?: number;
  /** Give up when aborted. */
  signal?: AbortSignal;
  /** Request metadata. */
  metadata?: Metadata;
  /** Filled with the reply's metadata. */
  replyMetadata?: Metadata;
  /** Override the client's serializer for this call. */
  serializeType?: number;
  /** Override the client's compression for this call. */
  compressType?: CompressType;
}

/**
 * A call started with {@linkcode Client.go}: its reply arrives in `done`.
 *
 * @example
 * ```ts
 * import type { PendingCall } from "@rpcx/core";
 * function log(c: PendingCall<unknown>) {
 *   c.done.then((r) => console.log(c.serviceMethod, r));
 * }
 * console.log(typeof log);
 * ```
 */
export interface PendingCall<T> {
  /** The service called. */
  readonly servicePath: string;
  /** The method called. */
  readonly serviceMethod: string;
  /** Settles with the reply or the error. */
  readonly done: Promise<T>;
  /** Stops waiting (rejects `done` with {@linkcode CallAbortedError}). */
  abort(reason?: unknown): void;
}

interface Transport {
  send(msg: Message): void;
  close(): void;
  readonly isClosed: boolean;
  drained(): Promise<void>;
}

interface Pending {
  resolve(msg: Message): void;
  reject(error: unknown): void;
}

const NO_OPTIONS: CallOptions = {};

/**
 * Internal to the client module (not exported by `mod.ts`): XClient's way to be told of a
 * call's outcome before its caller is, without one more promise per call. Returns undefined
 * when the call cannot take the fast path (no open connection, plugins around calls, or an
 * error before sending): then use `call()`.
 */
export const trackedCall: unique symbol = Symbol("rpcx.trackedCall");

/** Told once of a tracked call's outcome: undefined on success, else the error. */
export type CallTracker = (error: unknown) => void;

/**
 * One call waiting for its reply: a single object per call (no closures on the fast path)
 * that settles the caller's promise with the decoded reply (or the message when `codec` is
 * undefined), and cleans its deadline, abort listener and pending entry.
 */
class Waiter implements Pending, Expiring {
  deadline = 0;
  settled = false;
  lane: Lane | undefined;
  timeout = 0;
  onAbort: (() => void) | undefined;
  constructor(
    readonly pending: Map<number, Pending>,
    readonly seq: number,
    readonly options: CallOptions,
    readonly codec: Codec | undefined,
    readonly ok: (value: unknown) => void,
    readonly fail: (error: unknown) => void,
    readonly tracker: CallTracker | undefined,
  ) {}
  #done(): void {
    this.settled = true;
    if (this.lane !== undefined) {
      this.lane.settle();
      this.lane = undefined;
    }
    if (this.onAbort !== undefined) this.options.signal!.removeEventListener("abort", this.onAbort);
    this.pending.delete(this.seq);
  }
  expire(): void {
    this.reject(new CallTimeoutError(this.timeout));
  }
  resolve(msg: Message): void {
    if (this.settled) return;
    this.#done();
    const replyMetadata = this.options.replyMetadata;
    if (replyMetadata) Object.assign(replyMetadata, msg.metadata);
    if (msg.status === MessageStatusType.Error) {
      return this.#failed(
        new ServiceError(msg.metadata[MetadataKeys.ServiceError] ?? "", msg.metadata),
      );
    }
    let value: unknown = msg;
    if (this.codec !== undefined) {
      try {
        value = this.codec.decode(msg.payload);
      } catch (e) {
        return this.#failed(e);
      }
    }
    this.tracker?.(undefined);
    this.ok(value);
  }
  #failed(error: unknown): void {
    this.tracker?.(error);
    this.fail(error);
  }
  reject(error: unknown): void {
    if (this.settled) return;
    this.#done();
    this.#failed(error);
  }
}

let inprocessClientIds = 0;

/**
 * One connection to one server, opened on first use and reopened on demand after it breaks.
 * All pending calls fail with {@linkcode ConnectionClosedError} when the connection dies.
 * Address: `tcp@host:port` (or bare `host:port`), or `inprocess@name`.
 *
 * @example
 * ```ts
 * import { Client, Server } from "@rpcx/core";
 * const server = new Server();
 * server.register({ Hello: (name: string) => `hi ${name}` }, "Greeter");
 * const addr = await server.serve("tcp", "127.0.0.1:0");
 * const client = new Client(`tcp@${addr}`);
 * console.log(await client.call("Greeter", "Hello", "deno")); // "hi deno"
 * await client.close();
 * await server.close();
 * ```
 */
export class Client {
  /** `network@address`. */
  readonly address: string;
  readonly #network: string;
  readonly #target: string;
  readonly #options: ClientOptions;
  readonly #codecs: CodecRegistry;
  /** The serializer of requests (default MsgPack). */
  readonly #serializeType: number;
  /** Calls waiting for a reply, by seq (a number: Map lookups by bigint are slower). */
  readonly #pending = new Map<number, Pending>();
  #seq = 0;
  #transport: Transport | undefined;
  #connecting: Promise<Transport> | undefined;
  #closed = false;
  #heartbeatTimer: ReturnType<typeof setInterval> | undefined;
  readonly #plugins: ClientPluginChain | undefined;
  readonly #push: PushReceivers;

  /** Creates a client for `address`; nothing is dialed until the first call or `connect()`. */
  constructor(address: string, options: ClientOptions = {}) {
    const at = address.indexOf("@");
    this.#network = at < 0 ? "tcp" : address.slice(0, at);
    this.#target = at < 0 ? address : address.slice(at + 1);
    this.address = `${this.#network}@${this.#target}`;
    this.#codecs = options.codecs ?? defaultCodecs;
    this.#serializeType = options.serializeType ?? SerializeType.MsgPack;
    this.#plugins = ClientPluginChain.of(options.plugins);
    const wire = loadWireCodec(options.wireCodec ?? options.codec ?? "auto");
    this.#options = {
      ...options,
      encodeBatch: options.encodeBatch ??
        (wire.name === "native" ? wire.encodeMessages : undefined),
      gunzip: options.gunzip ??
        (wire.implementations.gunzip === "native" ? wire.gunzip : undefined),
    };
    this.#push = new PushReceivers(
      options.onServerMessage,
      this.address,
      options.bidirectionalBlock ?? false,
    );
  }

  /**
   * The messages the server pushes from now on (Go: `RegisterServerMessageChan`), as a bounded
   * async iterator; it ends on `close()`. Pushes arrive on the open connection only: a server
   * learns of it from a call (or lists it with `activeClientConn()`).
   *
   * @example
   * ```ts
   * import { Client } from "@rpcx/core";
   * const client = new Client("tcp@127.0.0.1:8972");
   * const pushes = client.serverMessages();
   * setTimeout(() => client.close(), 10);
   * for await (const m of pushes) console.log(new TextDecoder().decode(m.data));
   * ```
   */
  serverMessages(options: ServerMessagesOptions = {}): ServerMessageStream {
    return this.#push.subscribe(options);
  }

  /** Whether a connection is open now. */
  get isConnected(): boolean {
    return this.#transport !== undefined && !this.#transport.isClosed;
  }

  /** Whether `close()` was called. */
  get isClosed(): boolean {
    return this.#closed;
  }

  /** Calls waiting for a reply. */
  get pendingCalls(): number {
    return this.#pending.size;
  }

  /** Opens the connection now (calls open it on demand anyway). */
  async connect(): Promise<void> {
    await this.#ensure();
  }

  #ensure(): Promise<Transport> {
    if (this.#closed) return Promise.reject(new ClientClosedError());
    const t = this.#transport;
    if (t && !t.isClosed) return Promise.resolve(t);
    this.#connecting ??= this.#dial().finally(() => (this.#connecting = undefined));
    return this.#connecting;
  }

  async #dial(): Promise<Transport> {
    const plugins = this.#plugins;
    let transport: Transport;
    try {
      transport = this.#network === INPROCESS_NETWORK
        ? this.#dialInprocess()
        : await this.#dialTcp();
    } catch (e) {
      plugins?.connCreateFailed(this.address, e);
      throw e;
    }
    if (this.#closed) {
      transport.close();
      throw new ClientClosedError();
    }
    if (plugins) {
      try {
        plugins.connCreated({ address: this.address });
      } catch (e) {
        transport.close();
        plugins.connCreateFailed(this.address, e);
        throw new ConnectionError(`dial ${this.address}: refused by a client plugin: ${e}`, {
          cause: e,
        });
      }
    }
    this.#transport = transport;
    if (this.#options.heartbeat) this.#startHeartbeat(transport);
    plugins?.clientConnected({ address: this.address });
    return transport;
  }

  async #dialTcp(): Promise<Transport> {
    const networks = this.#options.networks ?? defaultNetworks;
    if (!networks.has(this.#network)) {
      throw new ConnectionError(`unsupported network ${this.#network} in ${this.address}`);
    }
    let conn: Connection;
    try {
      conn = await networks.get(this.#network).dial(this.#target, {
        timeout: this.#options.connectTimeout ?? 1000,
        tls: this.#options.tls,
        path: this.#options.rpcPath,
      });
    } catch (e) {
      // The transport's typed error (ConnectionRefusedError, DialTimeoutError, TlsHandshakeError,
      // ...) is the cause; its text says what was dialed.
      throw new ConnectionError((e as Error).message, { cause: e });
    }
    const limits: DecodeLimits = {
      maxMessageLength: this.#options.maxMessageLength ?? DEFAULT_DECODE_LIMITS.maxMessageLength,
      maxDecompressedLength: this.#options.maxDecompressedLength ??
        DEFAULT_DECODE_LIMITS.maxDecompressedLength,
      gunzip: this.#options.gunzip,
    };
    let failure: unknown;
    const fc: FramedConnection = new FramedConnection(conn, {
      onMessage: (msg) => this.#onResponse(msg),
      // A bad frame from the server (too large, malformed, a gzip bomb): pending calls fail with
      // it as the cause.
      onError: (e) => (failure = e),
      onClose: () => this.#onClosed(fc, failure),
    }, { ...limits, encodeBatch: this.#options.encodeBatch });
    fc.start();
    return fc;
  }

  #dialInprocess(): Transport {
    const registry = this.#options.inprocessRegistry ?? defaultInprocessRegistry;
    const endpoint = registry.endpoint(this.#target);
    if (!endpoint) {
      const cause = new ConnectionRefusedError(this.address);
      throw new ConnectionError(`${cause.message}: no such in-process server`, { cause });
    }
    let closed = false;
    const transport: Transport = {
      send: (msg) => {
        if (!closed) session.send(msg);
      },
      close: () => {
        if (closed) return;
        closed = true;
        session.close();
        this.#onClosed(transport);
      },
      get isClosed() {
        return closed;
      },
      drained: () => Promise.resolve(),
    };
    const session = endpoint.open(
      `inprocess-client-${++inprocessClientIds}`,
      (msg) => this.#onResponse(msg),
      () => {
        if (closed) return;
        closed = true;
        this.#onClosed(transport);
      },
    );
    return transport;
  }

  #onClosed(transport: Transport, cause?: unknown): void {
    if (this.#transport !== transport) return;
    this.#transport = undefined;
    this.#stopHeartbeat();
    this.#plugins?.connClose({ address: this.address });
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    const err = cause === undefined
      ? new ConnectionClosedError(`connection to ${this.address} is shut down`)
      : new ConnectionClosedError(
        `connection to ${this.address} is shut down: ${(cause as Error).message ?? cause}`,
        { cause },
      );
    for (const p of pending) p.reject(err);
  }

  #onResponse(msg: Message): void | Promise<void> {
    if (this.#plugins?.hasAfterDecode) this.#plugins.afterDecode(msg);
    if (msg.messageType !== MessageType.Response) {
      if (!isServerPush(msg)) return;
      return this.#push.dispatch(toServerMessage(msg, this.address, this.#codecs));
    }
    const p = this.#pending.get(Number(msg.seq));
    if (p !== undefined) p.resolve(msg);
  }

  #startHeartbeat(transport: Transport): void {
    this.#stopHeartbeat();
    const every = this.#options.heartbeatInterval ?? 10_000;
    const maxWait = this.#options.maxWaitForHeartbeat ?? 30_000;
    this.#heartbeatTimer = setInterval(() => {
      if (transport.isClosed) return this.#stopHeartbeat();
      this.heartbeat({ timeout: maxWait }).catch(() => {
        if (this.#transport === transport) transport.close();
      });
    }, every);
  }

  #stopHeartbeat(): void {
    if (this.#heartbeatTimer !== undefined) clearInterval(this.#heartbeatTimer);
    this.#heartbeatTimer = undefined;
  }

  /** Sends a heartbeat; resolves with the round-trip time in ms. */
  async heartbeat(options: CallOptions = {}): Promise<number> {
    const start = performance.now();
    await this.sendRaw(
      createMessage({
        heartbeat: true,
        serializeType: options.serializeType ?? this.#options.serializeType ??
          SerializeType.MsgPack,
      }),
      options,
    );
    return performance.now() - start;
  }

  /**
   * Calls `servicePath.serviceMethod` with `args`; resolves with the decoded reply. Rejects
   * with {@linkcode ServiceError} (the server's error text), {@linkcode ConnectionError},
   * {@linkcode CallTimeoutError} or {@linkcode CallAbortedError}.
   */
  call<T = unknown>(
    servicePath: string,
    serviceMethod: string,
    args: unknown,
    options: CallOptions = NO_OPTIONS,
  ): Promise<T> {
    if (this.#plugins?.wrapsCalls) {
      const call = this.#call(servicePath, serviceMethod, args, options, false);
      const opts = { ...options, metadata: call.metadata };
      return this.#plugins.around(call, () => this.#callNow<T>(call, opts));
    }
    let codec: Codec;
    let req: Message;
    try {
      codec = this.#codecs.get(options.serializeType ?? this.#serializeType);
      req = this.#message(codec, servicePath, serviceMethod, args, options, false);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#roundTrip(req, options, codec) as Promise<T>;
  }

  /**
   * See {@linkcode trackedCall} (internal: left out of the documentation).
   *
   * @ignore
   */
  [trackedCall]<T>(
    servicePath: string,
    serviceMethod: string,
    args: unknown,
    options: CallOptions,
    tracker: CallTracker,
  ): Promise<T> | undefined {
    const t = this.#transport;
    if (
      t === undefined || t.isClosed || this.#closed || this.#plugins?.wrapsCalls ||
      options.signal?.aborted
    ) return undefined;
    let codec: Codec;
    let req: Message;
    try {
      codec = this.#codecs.get(options.serializeType ?? this.#serializeType);
      req = this.#message(codec, servicePath, serviceMethod, args, options, false);
      this.#checkLength(req);
    } catch {
      return undefined; // call() fails the same way, through its promise
    }
    return this.#exchange(t, req, options, codec, tracker) as Promise<T>;
  }

  /**
   * A typed view of service `servicePath`: `client.typed<Arith>("Arith").Mul(args, options)`
   * calls `call("Arith", "Mul", args, options)`, with method names, args and reply checked by
   * the compiler against the class `S` (see {@linkcode TypedClient}).
   */
  typed<S>(servicePath: string): TypedClient<S> {
    return typedProxy<S>((method, args, options) => this.call(servicePath, method, args, options));
  }

  async #callNow<T>(call: ClientCall, options: CallOptions): Promise<T> {
    const { req, codec } = this.#request(
      call.servicePath,
      call.serviceMethod,
      call.args,
      options,
      call.oneway,
    );
    return await this.#roundTrip(req, options, call.oneway ? undefined : codec) as T;
  }

  /** What plugins see of a call; its metadata is what will be sent. */
  #call(
    servicePath: string,
    serviceMethod: string,
    args: unknown,
    options: CallOptions,
    oneway: boolean,
  ): ClientCall {
    return {
      address: this.address,
      servicePath,
      serviceMethod,
      args,
      metadata: { ...options.metadata },
      oneway,
    };
  }

  /** Starts a call and returns at once; the reply arrives in `done`. */
  go<T = unknown>(
    servicePath: string,
    serviceMethod: string,
    args: unknown,
    options: CallOptions = {},
  ): PendingCall<T> {
    const ac = new AbortController();
    const signal = options.signal ? AbortSignal.any([options.signal, ac.signal]) : ac.signal;
    const done = this.call<T>(servicePath, serviceMethod, args, { ...options, signal });
    done.catch(() => {}); // the caller may never look
    return { servicePath, serviceMethod, done, abort: (reason) => ac.abort(reason) };
  }

  /** Oneway call: resolves once the request is written; the server sends no reply. */
  async send(
    servicePath: string,
    serviceMethod: string,
    args: unknown,
    options: CallOptions = {},
  ): Promise<void> {
    if (this.#plugins?.wrapsCalls) {
      const call = this.#call(servicePath, serviceMethod, args, options, true);
      const opts = { ...options, metadata: call.metadata };
      return this.#plugins.around(call, () => this.#callNow<void>(call, opts));
    }
    await this.sendRaw(this.#request(servicePath, serviceMethod, args, options, true).req, options);
  }

  /** A request for `args` in the call's serializer; the codec decodes the reply. */
  #request(
    servicePath: string,
    serviceMethod: string,
    args: unknown,
    options: CallOptions,
    oneway: boolean,
  ): { req: Message; codec: Codec } {
    const codec = this.#codecs.get(options.serializeType ?? this.#serializeType);
    return { req: this.#message(codec, servicePath, serviceMethod, args, options, oneway), codec };
  }

  #message(
    codec: Codec,
    servicePath: string,
    serviceMethod: string,
    args: unknown,
    options: CallOptions,
    oneway: boolean,
  ): Message {
    const payload = codec.encode(args);
    return {
      version: 0,
      messageType: MessageType.Request,
      heartbeat: false,
      oneway,
      compressType: this.#compressTypeFor(payload, options),
      status: MessageStatusType.Normal,
      serializeType: options.serializeType ?? this.#serializeType,
      seq: 0n,
      servicePath,
      serviceMethod,
      metadata: this.#requestMetadata(options),
      payload,
    };
  }

  /** As Go's client: compress only payloads over 1024 bytes. */
  #compressTypeFor(payload: Uint8Array, options: CallOptions): CompressType {
    const type = options.compressType ?? this.#options.compressType ?? CompressType.None;
    return payload.byteLength > 1024 ? type : CompressType.None;
  }

  #requestMetadata(options: CallOptions): Metadata {
    const meta: Metadata = options.metadata === undefined ? {} : { ...options.metadata };
    const auth = this.#options.auth;
    if (auth !== undefined && meta[MetadataKeys.Auth] === undefined) {
      meta[MetadataKeys.Auth] = auth;
    }
    const timeout = options.timeout ?? this.#options.timeout;
    if (timeout !== undefined && timeout > 0) {
      meta[MetadataKeys.ServerTimeout] = String(Math.ceil(timeout));
    }
    return meta;
  }

  /**
   * Sends a message as built by the caller (its seq is assigned here). Resolves with the
   * response message, or undefined for oneway requests once written. An error response
   * rejects with {@linkcode ServiceError}; a request longer than `maxMessageLength` (default
   * 16 MiB) with {@linkcode FrameTooLargeError}, before anything is written (other calls on the
   * connection go on).
   */
  sendRaw(req: Message, options: CallOptions = NO_OPTIONS): Promise<Message | undefined> {
    return this.#roundTrip(req, options, undefined) as Promise<Message | undefined>;
  }

  /**
   * Sends `req` and settles with its reply decoded by `codec` (the reply message when `codec`
   * is undefined; undefined for oneway once written). On an open connection nothing here
   * waits: the returned promise is the call's only one.
   */
  #roundTrip(req: Message, options: CallOptions, codec: Codec | undefined): Promise<unknown> {
    const signal = options.signal;
    if (signal?.aborted) return Promise.reject(new CallAbortedError(signal.reason));
    try {
      this.#checkLength(req);
    } catch (e) {
      return Promise.reject(e);
    }
    const t = this.#transport;
    if (t !== undefined && !t.isClosed && !this.#closed) {
      return this.#exchange(t, req, options, codec);
    }
    return this.#ensure().then((transport) => {
      // An abort while the connection was being opened: its event has already fired.
      if (signal?.aborted) throw new CallAbortedError(signal.reason);
      return this.#exchange(transport, req, options, codec);
    });
  }

  #exchange(
    transport: Transport,
    req: Message,
    options: CallOptions,
    codec: Codec | undefined,
    tracker?: CallTracker,
  ): Promise<unknown> {
    const seq = ++this.#seq;
    req.seq = BigInt(seq);
    if (this.#plugins?.hasBeforeEncode) this.#plugins.beforeEncode(req);
    if (req.oneway) {
      transport.send(req);
      return transport.drained().then(() => {
        if (transport.isClosed) throw new ConnectionClosedError();
        return undefined;
      });
    }
    if (transport.isClosed) {
      // Closed since it was handed out (e.g. an in-process server refused the session):
      // nothing would ever settle this call.
      return Promise.reject(
        new ConnectionClosedError(`connection to ${this.address} is shut down`),
      );
    }
    const timeout = options.timeout ?? this.#options.timeout;
    const signal = options.signal;
    return new Promise((resolve, reject) => {
      const w = new Waiter(this.#pending, seq, options, codec, resolve, reject, tracker);
      this.#pending.set(seq, w);
      if (timeout !== undefined && timeout > 0) {
        w.timeout = timeout;
        deadlines.add(timeout, w);
      }
      if (signal !== undefined) {
        w.onAbort = () => w.reject(new CallAbortedError(signal.reason));
        signal.addEventListener("abort", w.onAbort, { once: true });
      }
      transport.send(req);
    });
  }

  /**
   * Refuses a request longer than `maxMessageLength` before it is written: a peer with the
   * same limit would drop the whole connection, failing every other call on it.
   */
  #checkLength(req: Message): void {
    const limit = this.#options.maxMessageLength ?? DEFAULT_DECODE_LIMITS.maxMessageLength;
    // An upper bound first (UTF-8 takes at most 3 bytes per UTF-16 unit; gzip may grow
    // incompressible data slightly); only a message near the limit is measured exactly.
    let bound = req.payload.byteLength + 3 * (req.servicePath.length + req.serviceMethod.length) +
      16;
    if (req.compressType !== CompressType.None) bound += (req.payload.byteLength >>> 9) + 64;
    const meta = req.metadata;
    for (const k in meta) bound += 8 + 3 * (k.length + String(meta[k] ?? "").length);
    if (bound <= limit) return;
    const length = prepareMessage(req).frameLength - HEADER_LENGTH;
    if (length > limit) throw new FrameTooLargeError(length, limit);
  }

  /** Closes the connection; pending calls fail with {@linkcode ConnectionClosedError}. */
  close(): Promise<void> {
    this.#closed = true;
    this.#stopHeartbeat();
    this.#transport?.close();
    this.#push.close();
    return Promise.resolve();
  }
}
