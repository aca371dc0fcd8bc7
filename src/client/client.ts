/**
 * The one-connection rpcx client. This file is the façade: call bookkeeping is in `_calls.ts`
 * (one waiter per call) and `_deadlines.ts` (timeout lanes), requests are built in
 * `_request.ts`, connections opened in `_dial.ts`, the options declared in `options.ts`.
 *
 * @module
 */
import type { Codec } from "../codec/codec.ts";
import { type TypedClient, typedProxy } from "./typed.ts";
import { type CodecRegistry, defaultCodecs } from "../codec/registry.ts";
import { MessageType, SerializeType } from "../protocol/constants.ts";
import { createMessage, type Message } from "../protocol/message.ts";
import { deadlines } from "./_deadlines.ts";
import { loadWireCodec } from "../native/wire_codec.ts";
import { INPROCESS_NETWORK } from "../transport/inprocess.ts";
import {
  CallAbortedError,
  CallTimeoutError,
  ClientClosedError,
  ConnectionClosedError,
  ConnectionError,
} from "./errors.ts";
import { type ClientCall, ClientPluginChain } from "./plugin.ts";
import { isServerPush, PushReceivers, toServerMessage } from "./_push.ts";
import type { ServerMessagesOptions, ServerMessageStream } from "./push.ts";
import {
  type Bounded,
  type CallTracker,
  type Pending,
  trackedCall,
  type Transport,
  Waiter,
  waitFor,
} from "./_calls.ts";
import { type Dialed, dialInprocess, dialNetwork, type OnClosed, type OnMessage } from "./_dial.ts";
import { checkLength, requestMessage } from "./_request.ts";
import type { CallOptions, ClientOptions, PendingCall } from "./options.ts";

export type { CallOptions, ClientOptions, PendingCall } from "./options.ts";
export { type CallTracker, trackedCall } from "./_calls.ts";

const NO_OPTIONS: CallOptions = {};

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
  readonly #options: ClientOptions & Bounded;
  readonly #codecs: CodecRegistry;
  /** The serializer of requests (default MsgPack). */
  readonly #serializeType: number;
  /** Calls waiting for a reply, by seq (a number: Map lookups by bigint are slower). */
  readonly #pending = new Map<number, Pending>();
  #seq = 0;
  #transport: Transport | undefined;
  /** The address of the server at the other end of `#transport` (Go's `RemoteAddr()`). */
  #server = "";
  #connecting: Promise<Transport> | undefined;
  /** Fails the calls waiting for `#connecting` (on `close()`). */
  #failConnecting: ((error: unknown) => void) | undefined;
  #closed = false;
  #heartbeatTimer: ReturnType<typeof setInterval> | undefined;
  readonly #plugins: ClientPluginChain | undefined;
  readonly #push: PushReceivers;
  /** Handlers of the connection (made once per client). */
  readonly #onMessage: OnMessage = (msg) => this.#onResponse(msg);
  readonly #onEnd: OnClosed = (transport, cause) => this.#onClosed(transport, cause);

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
      serializeType: this.#serializeType,
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
    if (this.#closed) return Promise.reject(this.#closedError());
    const t = this.#transport;
    if (t && !t.isClosed) return Promise.resolve(t);
    // The calls waiting for the connection fail at once on close(), not when the dial ends
    // (up to connectTimeout later); the dial itself closes what it opens after close().
    this.#connecting ??= new Promise<Transport>((resolve, reject) => {
      this.#failConnecting = reject;
      this.#dial().then(resolve, reject);
    }).finally(() => {
      this.#connecting = undefined;
      this.#failConnecting = undefined;
    });
    return this.#connecting;
  }

  #closedError(): ClientClosedError {
    return new ClientClosedError(`rpcx: client of ${this.address} is shut down`);
  }

  async #dial(): Promise<Transport> {
    const plugins = this.#plugins;
    let dialed: Dialed;
    try {
      dialed = this.#network === INPROCESS_NETWORK
        ? dialInprocess(this.#target, this.address, this.#options, this.#onMessage, this.#onEnd)
        : await dialNetwork(
          this.#network,
          this.#target,
          this.address,
          this.#options,
          this.#onMessage,
          this.#onEnd,
        );
    } catch (e) {
      plugins?.connCreateFailed(this.address, e);
      throw e;
    }
    const transport = dialed.transport;
    if (this.#closed) {
      transport.close();
      throw this.#closedError();
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
    this.#server = dialed.server;
    if (this.#options.heartbeat) this.#startHeartbeat(transport);
    plugins?.clientConnected({ address: this.address });
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
   * {@linkcode CallTimeoutError}, {@linkcode CallAbortedError} or (closed before the reply)
   * {@linkcode ClientClosedError}.
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
      req = requestMessage(this.#options, codec, servicePath, serviceMethod, args, options, false);
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
      req = requestMessage(this.#options, codec, servicePath, serviceMethod, args, options, false);
      checkLength(this.#options, req);
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

  /**
   * Oneway call: resolves once the request is written; the server sends no reply. `timeout`
   * bounds the write ({@linkcode CallTimeoutError} when a peer that stopped reading holds it).
   */
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
    return {
      req: requestMessage(this.#options, codec, servicePath, serviceMethod, args, options, oneway),
      codec,
    };
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
      checkLength(this.#options, req);
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
      // Closed between the connection's opening and this turn: nothing is sent.
      if (this.#closed) throw this.#closedError();
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
    const timeout = waitFor(options, this.#options);
    if (req.oneway) {
      transport.send(req);
      const written = transport.drained().then(() => {
        if (transport.isClosed) throw new ConnectionClosedError();
        return undefined;
      });
      return timeout !== undefined && timeout > 0 ? writeWithin(written, timeout) : written;
    }
    if (transport.isClosed) {
      // Closed since it was handed out (e.g. an in-process server refused the session):
      // nothing would ever settle this call.
      return Promise.reject(
        new ConnectionClosedError(`connection to ${this.address} is shut down`),
      );
    }
    const signal = options.signal;
    return new Promise((resolve, reject) => {
      const w = new Waiter(this.#pending, seq, options, codec, resolve, reject, tracker);
      if (options.replyMetadata !== undefined) w.server = this.#server;
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
   * Closes the connection. Every call still pending (a call waiting for the connection to open
   * included) fails at once with {@linkcode ClientClosedError}, as later calls do; nothing is
   * dialed again (Go: `Client.Close`, which fails them with `ErrShutdown`). Resolves once the
   * socket is closed.
   */
  close(): Promise<void> {
    this.#closed = true;
    this.#stopHeartbeat();
    const error = this.#closedError();
    this.#failConnecting?.(error);
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of pending) p.reject(error);
    this.#transport?.close();
    this.#push.close();
    return Promise.resolve();
  }
}

/**
 * `written` (a oneway request's write), or {@linkcode CallTimeoutError} when it is not written
 * within `timeout` ms (a peer that stopped reading).
 */
function writeWithin(written: Promise<undefined>, timeout: number): Promise<undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    written,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new CallTimeoutError(timeout)), timeout);
    }),
  ]).finally(() => clearTimeout(timer));
}
