/**
 * The options of the clients: {@linkcode ClientOptions} (a connection), {@linkcode CallOptions}
 * (one call), {@linkcode PendingCall} (a call started with `go`), and XClient's
 * {@linkcode FailMode} and {@linkcode XClientOptions}.
 *
 * @module
 */
import type { CodecRegistry } from "../codec/registry.ts";
import type { CompressType } from "../protocol/constants.ts";
import type { DecodeLimits, Message, Metadata } from "../protocol/message.ts";
import type { BatchAlloc } from "../protocol/encode.ts";
import type { NetworkRegistry, TlsOptions } from "../transport/network.ts";
import type { WireCodecMode } from "../native/wire_codec.ts";
import type { ClientPlugin } from "./plugin.ts";
import type { ServerMessageHandler } from "./push.ts";
import type { Selector } from "./selectors.ts";

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
  /**
   * Networks by name (default: `defaultNetworks`): `tcp`, `unix`, `http`, `ws`, `wss`,
   * `inprocess`, yours.
   */
  networks?: NetworkRegistry;
  /**
   * TLS for `tcp`, `http` and `wss` (Go's `client.Option.TLSConfig`): `caCerts` to trust,
   * `serverName`, and `certChain`/`privateKey` for mutual TLS. `insecureSkipVerify: true` (Go's
   * `tls.Config{InsecureSkipVerify: true}`) accepts ANY certificate: UNSAFE, for tests only (see
   * {@linkcode TlsOptions.insecureSkipVerify}).
   */
  tls?: TlsOptions;
  /**
   * Close the connection once nothing was sent or received on it for this many ms while no call
   * waits for a reply (Go's `Option.IdleTimeout`; default 0: never). The next call dials again.
   * Heartbeats count as traffic: with `heartbeat` on, a connection is never idle. Unlike Go's
   * (a deadline on the socket, renewed at each read and write), a call waiting longer than this
   * for its reply is not failed: `timeout` bounds calls.
   */
  idleTimeout?: number;
  /**
   * TCP keep-alive period of the `tcp` network's connections, ms (Go's
   * `Option.TCPKeepAlivePeriod`, one minute in Go's `DefaultOption`): how long a connection stays
   * idle before the kernel sends keep-alive probes. `0` turns keep-alive off. Default: Go's one
   * minute on Node and Bun (node:net sets it at no cost) and for TLS on Deno; on Deno for plain
   * TCP, keep-alive on with the system's period (two hours on Linux), because `Deno.connect`
   * cannot set a period: given one, Deno dials plain TCP with `node:net`, slower per call (one
   * call in flight, p50 52 → 61 µs; README, the `tcpKeepAlivePeriod` rows). Not for `http`,
   * `ws`, `wss`, which keep the system's period.
   *
   * @example
   * ```ts
   * import { Client } from "@rpcx/core";
   * const client = new Client("tcp@127.0.0.1:8972", { tcpKeepAlivePeriod: 60_000 }); // Go's
   * await client.close();
   * ```
   */
  tcpKeepAlivePeriod?: number;
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
   * its queue for the connection is full). Replies on the same connection wait too. On every
   * network, `inprocess` included. Default false (drop, as Go).
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
  /**
   * Filled with the reply's metadata (on an error reply too), plus `__ServerAddress`: the
   * address of the server that answered, `host:port` (Go's `share.ServerAddress`, set by Go's
   * client only when the reply carries metadata; here always).
   */
  replyMetadata?: Metadata;
  /** Override the client's serializer for this call. */
  serializeType?: number;
  /** Override the client's compression for this call. */
  compressType?: CompressType;
  /**
   * The call being served that this call is made for (grpc-js's `parent`; Go passes `ctx` on).
   * From it the call takes the time left until its deadline as its `timeout` (the shorter of
   * the two when the call has its own), its `signal` (aborted when that deadline passes or its
   * server closes hard) and its trace metadata (`traceparent`, `tracestate`, `baggage`, unless
   * the call sets them). A call that finds no time left fails at once with
   * {@linkcode CallTimeoutError}; when the parent's deadline ends the call, it fails with
   * `CallTimeoutError` too. Default (undefined): the call a server is running in this async
   * context, found through `AsyncLocalStorage` (a method's calls need no `parent`), when its
   * request carried a deadline (`__ServerTimeout`) or trace metadata. `null`: none, for work
   * that must outlive the call being served.
   */
  parent?: CallParent | null;
}

/**
 * What a call takes from the call being served that it is made for (see `CallOptions.parent`):
 * a server method's {@linkcode CallContext} is one.
 *
 * @example
 * ```ts
 * import type { CallParent } from "@rpcx/core/extend";
 * // Calls made with this parent have at most 200 ms.
 * const parent: CallParent = { deadline: Date.now() + 200, metadata: {} };
 * console.log(parent.deadline! > Date.now()); // true
 * ```
 */
export interface CallParent {
  /** When the parent's caller stops waiting, ms since the epoch; undefined: no deadline. */
  readonly deadline?: number | undefined;
  /** Aborted when the parent call ends early (its deadline, its server closing hard). */
  readonly signal?: AbortSignal;
  /** The parent's request metadata: its trace keys are passed on. */
  readonly metadata?: Readonly<Metadata>;
}

/**
 * A call started with {@linkcode Client.go}: its reply arrives in `done`.
 *
 * @example
 * ```ts
 * import { Client, Server } from "@rpcx/core";
 * import type { PendingCall } from "@rpcx/core/extend";
 * const server = new Server();
 * await server.register({ Mul: (a: { A: number; B: number }) => ({ C: a.A * a.B }) }, "Arith");
 * const client = new Client(`tcp@${await server.serve("tcp", "127.0.0.1:0")}`);
 * const calls: PendingCall<{ C: number }>[] = [1, 2, 3].map((n) =>
 *   client.go<{ C: number }>("Arith", "Mul", { A: n, B: 10 })
 * );
 * for (const c of calls) console.log(c.serviceMethod, (await c.done).C); // Mul 10, Mul 20, Mul 30
 * await client.close();
 * await server.close();
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

/**
 * Fail modes, as in Go rpcx. Only transport errors are retried; a service error is returned
 * as it is.
 *
 * @example
 * ```ts
 * import { FailMode } from "@rpcx/core";
 * console.log(FailMode.Failover); // 0
 * ```
 */
export const FailMode = {
  /** On a transport error, try another server (up to `retries` more times). */
  Failover: 0,
  /** One try. */
  Failfast: 1,
  /** On a transport error, try the same server again (up to `retries` more times). */
  Failtry: 2,
  /**
   * If no reply within `backupLatency` (or a transport error before), send the call again — to
   * another server when there is one, else to the same one (as Go) — and the first reply wins.
   */
  Failbackup: 3,
} as const;
/** A value of {@linkcode FailMode}. */
export type FailMode = typeof FailMode[keyof typeof FailMode];

/**
 * Options of {@linkcode XClient}: the per-connection {@linkcode ClientOptions} plus these.
 *
 * @example
 * ```ts
 * import type { XClientOptions } from "@rpcx/core";
 * const o: XClientOptions = { retries: 2, group: "blue", backupLatency: 20 };
 * console.log(o.retries);
 * ```
 */
export interface XClientOptions extends ClientOptions {
  /** Extra tries for Failover/Failtry (default 3). */
  retries?: number;
  /**
   * Pause between two tries of Failover and Failtry, ms (Go's `Option.RetryInterval`; default
   * 0). The pause counts in the call's `timeout` (a call whose time runs out while pausing fails
   * with {@linkcode CallTimeoutError}); `close()` and the call's `signal` end it at once.
   */
  retryInterval?: number;
  /**
   * Keep using the server chosen first until a try on it fails with a transport error, or it
   * leaves the list (Go's `Option.Sticky`; default false). The select mode chooses again only
   * then. Service errors and timeouts do not unstick, as in Go.
   */
  sticky?: boolean;
  /** Failbackup's wait before sending the backup request, ms (default 10, Go's `BackupLatency`). */
  backupLatency?: number;
  /**
   * The longest any operation of the XClient waits, ms (default 60 000): a `call` (retries
   * included), `send` or `sendRaw` without a `timeout`, and `broadcast`/`fork` whatever their
   * `timeout` (Go bounds `Broadcast` and `Fork` at one minute, its only bound of that kind; Go's
   * `Call` has none). Past it the operation fails with {@linkcode CallTimeoutError}. Known to the
   * client only: unlike `timeout`, it is not sent to the server as `__ServerTimeout`.
   * `Infinity` removes the bound; a value over 2^31 − 1 ms (~24.8 days) is capped there.
   *
   * @throws {RangeError} (from the constructor) unless a number > 0.
   */
  maxWait?: number;
  /** Keep only servers whose `group` metadata includes this. */
  group?: string;
  /** The selector for {@linkcode SelectMode.SelectByUser}. */
  selector?: Selector;
  /** The client's position for {@linkcode SelectMode.Closest}. */
  latitude?: number;
  /** The client's position for {@linkcode SelectMode.Closest}. */
  longitude?: number;
  /** How long a call waits for the discovery's first list, ms (default 5000). */
  discoveryTimeout?: number;
  /** First wait before a failed server is tried again, ms (default 1000, doubling). */
  retryBackoff?: number;
  /** Longest wait before a failed server is tried again, ms (default 30 000). */
  maxRetryBackoff?: number;
  /** Consecutive transport failures that take a server out (default 3; refused: at once). */
  failureThreshold?: number;
}
