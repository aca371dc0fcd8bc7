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
import type { NetworkRegistry, TlsOptions } from "../transport/network.ts";
import type { InprocessRegistry } from "../transport/inprocess.ts";
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
