/**
 * @rpcx/core — the rpcx RPC framework for Deno, byte-compatible with Go rpcx.
 *
 * Serve services and call them over TCP (or in-process), find servers through a registry
 * (Peer2Peer, MultipleServers and in-process here; etcd, ZooKeeper, Consul and mDNS under
 * their own subpaths: `@rpcx/core/etcd`, `@rpcx/core/zookeeper`, `@rpcx/core/consul`,
 * `@rpcx/core/mdns`).
 *
 * @example
 * ```ts
 * import {
 *   FailMode, InprocessDiscovery, InprocessRegisterPlugin, SelectMode, Server, XClient,
 * } from "@rpcx/core";
 *
 * class Arith {
 *   Mul(args: { A: number; B: number }) {
 *     return { C: args.A * args.B };
 *   }
 * }
 * const server = new Server({ plugins: [new InprocessRegisterPlugin()] });
 * await server.register(new Arith());
 * await server.serve("inprocess", "arith");
 *
 * const client = new XClient("Arith", FailMode.Failover, SelectMode.RoundRobin,
 *   new InprocessDiscovery("Arith"));
 * console.log(await client.call("Mul", { A: 10, B: 20 })); // { C: 200 }
 * await client.close();
 * await server.close();
 * ```
 *
 * @module
 */
// Logging.
export {
  consoleLogger,
  type LogFields,
  type Logger,
  logger,
  LogLevel,
  setLogger,
  silentLogger,
} from "./src/log/logger.ts";

// Protocol: the constants, message shape and errors a Server/Client user meets. Encoders,
// decoders, framing and compression are wire-level helpers: `@rpcx/core/protocol`.
export {
  CompressType,
  MessageStatusType,
  MessageType,
  MetadataKeys,
  SerializeType,
} from "./src/protocol/constants.ts";
export {
  DecompressionError,
  FrameTooLargeError,
  InvalidMagicError,
  MalformedFrameError,
  ProtocolError,
  RpcxError,
  TruncatedFrameError,
} from "./src/protocol/errors.ts";
export type { DecodeLimits, FrameHeader, Message, Metadata } from "./src/protocol/message.ts";
export type { FrameDecoderOptions } from "./src/protocol/framing.ts";

// Payload codecs.
export { type Codec, CodecError, UnsupportedCodecError } from "./src/codec/codec.ts";
export { CodecRegistry, defaultCodecs } from "./src/codec/registry.ts";
export { rawCodec } from "./src/codec/raw.ts";
export { jsonCodec } from "./src/codec/json.ts";
export { msgpackCodec } from "./src/codec/msgpack.ts";
export { protobufCodec, type ProtobufFunctions } from "./src/codec/protobuf.ts";

// Server.
export type { CallContext } from "./src/server/context.ts";
export { currentCall } from "./src/server/call_scope.ts";
export {
  type ConnInfo,
  type HttpRequestInfo,
  isRegisterPlugin,
  type RegisterPlugin,
  type RegistryStartContext,
  type ServerMetrics,
  type ServerPlugin,
} from "./src/server/plugin.ts";

// HTTP on the rpcx port: HTTP invoke (X-RPCX headers), JSON-RPC 2.0 and CORS, as Go rpcx.
export { allowAllCorsOptions, type CorsOptions } from "./src/http/cors.ts";
export { RpcxHttpHeaders } from "./src/http/gateway.ts";
export {
  DEFAULT_MAX_BATCH_RESPONSE_SIZE,
  DEFAULT_MAX_BATCH_SIZE,
  JSONRPC_HEADER,
  JsonRpcErrorCode,
} from "./src/http/jsonrpc.ts";
export type { HttpLimits, HttpOptions } from "./src/http/options.ts";
export { collectMethods, type ServiceEntry, type ServiceMethod } from "./src/server/service.ts";
export { Server } from "./src/server/server.ts";
export type { Handler, HandlerContext } from "./src/server/handler.ts";
// The clients' sendFile, downloadFile and stream (Go's XClient.SendFile, DownloadFile, Stream),
// what they take and give (the rest of streams is in @rpcx/core/stream).
export { StreamCalls } from "./src/client/stream_calls.ts";
export type { SendFileOptions, TransferResult } from "./src/stream/send_file.ts";
export type { TransferOptions } from "./src/stream/_client.ts";
export type { DataConn } from "./src/stream/_conn.ts";
export {
  DEFAULT_RESTART_READY_TIMEOUT,
  RESTART_NOTIFY_ENV,
  RestartError,
  type RestartOptions,
} from "./src/server/restart.ts";
export {
  type AuthFunction,
  type ServeOptions,
  ServerClosedError,
  type ServerOptions,
  type ServiceErrorHandler,
  type ShutdownOptions,
} from "./src/server/options.ts";
export {
  ClientConnClosedError,
  DEFAULT_PUSH_BUFFER_SIZE,
  PushBufferFullError,
  type PushContext,
  type SendMessageOptions,
} from "./src/server/push.ts";

// Client.
export {
  CallAbortedError,
  CallTimeoutError,
  ClientClosedError,
  ConnectionClosedError,
  ConnectionError,
  isRetryable,
  NoServerAvailableError,
  NoServerSelectedError,
  ServiceError,
} from "./src/client/errors.ts";
export {
  type CallOptions,
  type CallParent,
  Client,
  type ClientOptions,
  type PendingCall,
} from "./src/client/client.ts";
export {
  type ServerMessage,
  type ServerMessageHandler,
  type ServerMessagesOptions,
  ServerMessageStream,
} from "./src/client/push.ts";
export {
  ClosestSelector,
  ConsistentHashSelector,
  fnv1a64,
  geoDistance,
  jumpHash,
  type LatencyProbe,
  latencyWeight,
  RandomSelector,
  RoundRobinSelector,
  SelectMode,
  type Selector,
  tcpConnectLatency,
  WeightedLatencySelector,
  WeightedRoundRobinSelector,
} from "./src/client/selectors.ts";
export {
  type ClientCall,
  type ClientConnInfo,
  type ClientPlugin,
  ClientPluginChain,
  type SelectFunc,
} from "./src/client/plugin.ts";
export {
  type MethodNames,
  type TypedCaller,
  type TypedClient,
  type TypedMethod,
  typedProxy,
} from "./src/client/typed.ts";
export { FailMode, type Receipt, XClient, type XClientOptions } from "./src/client/xclient.ts";
export { OneClient } from "./src/client/oneclient.ts";
export { OneClientPool, XClientPool } from "./src/client/pool.ts";

// Registry: the contracts every registry shares, and the registries without a dependency.
export {
  backoffDelay,
  BaseDiscovery,
  type DiscoveryListener,
  type KVPair,
  RegistryOutageEvent,
  type ServiceDiscovery,
  type ServiceFilter,
} from "./src/registry/discovery.ts";
export {
  formatMetadata,
  inGroup,
  isInactive,
  metadataPosition,
  metadataWeight,
  metricsFigures,
  parseMetadata,
} from "./src/registry/metadata.ts";
export { RegistryError, type RegistryErrorOptions } from "./src/registry/errors.ts";
export { Peer2PeerDiscovery } from "./src/registry/peer2peer.ts";
export { MultipleServersDiscovery } from "./src/registry/multiple_servers.ts";
export {
  defaultInprocessRegistry,
  InprocessDiscovery,
  InprocessRegisterPlugin,
  type InprocessRegisterPluginOptions,
  InprocessRegistry,
} from "./src/registry/inprocess.ts";
export {
  CacheDiscovery,
  type CacheDiscoveryOptions,
  CacheFileError,
  CacheFileErrorEvent,
  type CacheFileProblem,
} from "./src/registry/cache.ts";
export { ResyncLoop, type ResyncOptions, type RetryOptions } from "./src/registry/resync.ts";
export { RegisterPluginBase, type RegisterPluginOptions } from "./src/registry/register_base.ts";
export { type KvRegisterOptions, KvRegisterPlugin } from "./src/registry/kv_register.ts";

// Transport: networks by name (tcp with TLS, unix, http, ws, wss; inprocess) and their errors.
export {
  type Connection,
  DEFAULT_HANDSHAKE_TIMEOUT,
  DEFAULT_RPC_PATH,
  type DialOptions,
  type Listener,
  type ListenOptions,
  type MessageLink,
  type Network,
  NetworkRegistry,
  type TlsOptions,
  UnsupportedNetworkError,
} from "./src/transport/network.ts";
export { defaultNetworks } from "./src/transport/networks.ts";
// A Connection is a ByteStream: a custom Network implements it (and, to carry whole messages,
// `messageLink`, which takes what a FramedConnection takes).
export type {
  ByteStream,
  FramedConnectionHandlers,
  FramedConnectionOptions,
} from "./src/transport/framed.ts";
export { tcpNetwork } from "./src/transport/tcp.ts";
export { unixNetwork } from "./src/transport/unix.ts";
export { httpNetwork } from "./src/transport/http.ts";
export { wsNetwork, wssNetwork } from "./src/transport/ws.ts";
export {
  ConnectionRefusedError,
  DialError,
  DialTimeoutError,
  ListenError,
  type ListenFailure,
  PeerGoneError,
  type PeerGoneReason,
  SocketError,
  type SocketErrorInfo,
  TlsHandshakeError,
  UpgradeError,
} from "./src/transport/errors.ts";
export { inprocessNetwork } from "./src/transport/inprocess.ts";
export { pipe, PipeNetwork } from "./src/transport/pipe.ts";

// The runtime seam's error: a permission the process lacks (Deno's --allow-*).
export { PermissionError } from "./src/runtime/errors.ts";
export type { Permission } from "./src/runtime/types.ts";

// Wire codec choice (the `wireCodec` option) and its errors.
export {
  NativeCodecError,
  NativeCodecUnavailableError,
  type NativeUnavailableReason,
  type WireCodecMode,
} from "./src/native/wire_codec.ts";
