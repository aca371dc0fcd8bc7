/**
 * The one-connection rpcx client. This file is the façade: the connection (dial, plugin hooks,
 * heartbeats) is in `_link.ts`, the calls waiting for replies in `_in_flight.ts` (one waiter
 * per call, `_calls.ts`; timeout lanes, `_deadlines.ts`), requests are built in `_request.ts`,
 * connections opened in `_dial.ts`, the options declared in `options.ts`.
 *
 * @module
 */
import type { Codec } from "../codec/codec.ts";
import { type TypedClient, typedProxy } from "./typed.ts";
import { type CodecRegistry, defaultCodecs } from "../codec/registry.ts";
import { MessageType, SerializeType } from "../protocol/constants.ts";
import { createMessage, type Message } from "../protocol/message.ts";
import { loadWireCodec } from "../native/wire_codec.ts";
import { CallAbortedError } from "./errors.ts";
import type { ClientCall } from "./plugin.ts";
import { ClientPluginChain } from "./_plugin_chain.ts";
import { isServerPush, PushReceivers, toServerMessage } from "./_push.ts";
import type { ServerMessagesOptions, ServerMessageStream } from "./push.ts";
import { type Bounded, type CallTracker, trackedCall } from "./_calls.ts";
import { InFlight } from "./_in_flight.ts";
import { closedError, Link } from "./_link.ts";
import { checkLength, requestMessage } from "./_request.ts";
import { callFor, parentOf } from "./_parent.ts";
import type { CallOptions, ClientOptions, PendingCall } from "./options.ts";
import { StreamCalls } from "./stream_calls.ts";

export type { CallOptions, CallParent, ClientOptions, PendingCall } from "./options.ts";
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
export class Client extends StreamCalls {
  /** `network@address`. */
  readonly address: string;
  readonly #options: ClientOptions & Bounded;
  readonly #codecs: CodecRegistry;
  /** The serializer of requests (default MsgPack). */
  readonly #serializeType: number;
  /** Calls waiting for a reply. */
  readonly #calls: InFlight;
  /** The connection, opened on demand. */
  readonly #link: Link;
  #closed = false;
  readonly #plugins: ClientPluginChain | undefined;
  readonly #push: PushReceivers;
  /** `idleTimeout` is set: each message sent or received marks the connection used. */
  readonly #touch: boolean;

  /** Creates a client for `address`; nothing is dialed until the first call or `connect()`. */
  constructor(address: string, options: ClientOptions = {}) {
    super(options.serializeType);
    const at = address.indexOf("@");
    const network = at < 0 ? "tcp" : address.slice(0, at);
    const target = at < 0 ? address : address.slice(at + 1);
    this.address = `${network}@${target}`;
    this.#codecs = options.codecs ?? defaultCodecs;
    this.#serializeType = options.serializeType ?? SerializeType.MsgPack;
    this.#plugins = ClientPluginChain.of(options.plugins);
    const wire = loadWireCodec(options.wireCodec ?? "auto");
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
    this.#calls = new InFlight(this.address, this.#options, this.#plugins);
    this.#link = new Link(this.address, network, target, this.#options, this.#plugins, {
      onMessage: (msg) => this.#onResponse(msg),
      lost: (error) => this.#calls.failAll(error),
      closed: () => this.#closed,
      heartbeat: (options) => this.heartbeat(options),
      busy: () => this.#calls.size > 0,
    });
    this.#touch = (options.idleTimeout ?? 0) > 0;
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
    const t = this.#link.transport;
    return t !== undefined && !t.isClosed;
  }

  /** Whether `close()` was called. */
  get isClosed(): boolean {
    return this.#closed;
  }

  /** Calls waiting for a reply. */
  get pendingCalls(): number {
    return this.#calls.size;
  }

  /** Opens the connection now (calls open it on demand anyway). */
  async connect(): Promise<void> {
    await this.#link.ensure();
  }

  #onResponse(msg: Message): void | Promise<void> {
    if (this.#touch) this.#link.lastUse = performance.now();
    if (this.#plugins?.hasAfterDecode) this.#plugins.afterDecode(msg);
    if (msg.messageType !== MessageType.Response) {
      if (!isServerPush(msg)) return;
      return this.#push.dispatch(toServerMessage(msg, this.address, this.#codecs));
    }
    this.#calls.settle(msg);
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
    const parent = parentOf(options);
    if (parent !== undefined) {
      const again = (o: CallOptions) => this.call<T>(servicePath, serviceMethod, args, o);
      return callFor(parent, options, this.#options.timeout, again);
    }
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
    const t = this.#link.transport;
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
    if (this.#touch) this.#link.lastUse = performance.now();
    return this.#calls.exchange(t, this.#link.server, req, options, codec, tracker) as Promise<T>;
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
    const parent = parentOf(options);
    if (parent !== undefined) {
      return await callFor(
        parent,
        options,
        this.#options.timeout,
        (o) => this.send(servicePath, serviceMethod, args, o),
      );
    }
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
    const parent = parentOf(options);
    if (parent !== undefined) {
      // The message is the caller's: only the deadline and signal are taken from the parent.
      return callFor(parent, options, this.#options.timeout, (o) => this.sendRaw(req, o), false);
    }
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
    const t = this.#link.transport;
    if (t !== undefined && !t.isClosed && !this.#closed) {
      if (this.#touch) this.#link.lastUse = performance.now();
      return this.#calls.exchange(t, this.#link.server, req, options, codec);
    }
    return this.#link.ensure().then((transport) => {
      // An abort while the connection was being opened: its event has already fired.
      if (signal?.aborted) throw new CallAbortedError(signal.reason);
      // Closed between the connection's opening and this turn: nothing is sent.
      if (this.#closed) throw closedError(this.address);
      if (this.#touch) this.#link.lastUse = performance.now();
      return this.#calls.exchange(transport, this.#link.server, req, options, codec);
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
    const error = closedError(this.address);
    this.#link.stop(error);
    this.#calls.failAll(error);
    this.#link.close();
    this.#push.close();
    return Promise.resolve();
  }
}
