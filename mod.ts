/**
 * @rpcx/core — the rpcx RPC framework for Deno, byte-compatible with Go rpcx.
 *
 * Serve services and call them over TCP (or in-process), find servers through a registry
 * (Peer2Peer, MultipleServers and in-process here; etcd, ZooKeeper, Consul, Redis, mDNS and DNS
 * under their own subpaths: `@rpcx/core/etcd`, `@rpcx/core/zookeeper`, `@rpcx/core/consul`,
 * `@rpcx/core/redis`, `@rpcx/core/mdns`, `@rpcx/core/dns`).
 *
 * This entry is the user API. Writing a network, a registry, a selector, a codec or a plugin:
 * `@rpcx/core/extend`. Reading and writing rpcx frames yourself: `@rpcx/core/protocol`.
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
// Logging: the library logs warnings and errors through one replaceable logger.
export {
  consoleLogger,
  type LogFields,
  type Logger,
  LogLevel,
  setLogger,
  silentLogger,
} from "./src/log/logger.ts";

// Protocol: the constants, message shape and errors a Server/Client user meets. Encoders,
// decoders, framing and the other wire errors: `@rpcx/core/protocol`.
export { CompressType, MetadataKeys, SerializeType } from "./src/protocol/constants.ts";
export { ProtocolError, RpcxError } from "./src/protocol/errors.ts";
export type { Metadata } from "./src/protocol/message.ts";

// Payload codecs: the registry a Server/Client takes, protobuf's, and their errors. Writing a
// codec: `@rpcx/core/extend`.
export { CodecError, UnsupportedCodecError } from "./src/codec/codec.ts";
export { CodecRegistry, defaultCodecs } from "./src/codec/registry.ts";
export { protobufCodec } from "./src/codec/protobuf.ts";

// Server.
export { Server } from "./src/server/server.ts";
export {
  type ServeOptions,
  ServerClosedError,
  type ServerOptions,
  type ShutdownOptions,
} from "./src/server/options.ts";
export type { CallContext } from "./src/server/context.ts";
export { currentCall } from "./src/server/call_scope.ts";
export type { ConnInfo } from "./src/transport/network.ts";
// Raw handlers (Go's AddHandler) and graceful restart (Go's Restart).
export type { HandlerContext } from "./src/server/handler.ts";
export { RestartError, type RestartOptions } from "./src/server/restart.ts";
// HTTP on the rpcx port: HTTP invoke (X-RPCX headers), JSON-RPC 2.0 and CORS, as Go rpcx.
export type { HttpOptions } from "./src/http/options.ts";
export { allowAllCorsOptions, type CorsOptions } from "./src/http/cors.ts";
// Push: the server's messages to a connected client.
export {
  ClientConnClosedError,
  PushBufferFullError,
  type SendMessageOptions,
} from "./src/server/push.ts";

// Client.
export { type CallOptions, Client, type ClientOptions } from "./src/client/client.ts";
export { FailMode, XClient, type XClientOptions } from "./src/client/xclient.ts";
export { SelectMode } from "./src/client/selectors.ts";
export { OneClient } from "./src/client/oneclient.ts";
export { OneClientPool, XClientPool } from "./src/client/pool.ts";
export type { TypedClient } from "./src/client/typed.ts";
export {
  type ServerMessage,
  type ServerMessagesOptions,
  ServerMessageStream,
} from "./src/client/push.ts";
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

// Discovery: the contract XClient reads, the discoveries without a registry, and the registries'
// errors. Registries: `@rpcx/core/etcd`, `/zookeeper`, `/consul`, `/redis`, `/mdns`, `/dns`;
// writing one: `@rpcx/core/extend`.
export { RegistryOutageEvent, type ServiceDiscovery } from "./src/registry/discovery.ts";
export { RegistryError } from "./src/registry/errors.ts";
export { Peer2PeerDiscovery } from "./src/registry/peer2peer.ts";
export { MultipleServersDiscovery } from "./src/registry/multiple_servers.ts";
export {
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
} from "./src/registry/cache.ts";

// Networks by name (tcp with TLS, unix, http, ws, wss; inprocess): TLS settings and the errors
// of dialing, listening and sockets. Writing a network: `@rpcx/core/extend`.
export { type TlsOptions, UnsupportedNetworkError } from "./src/transport/network.ts";
export {
  ConnectionRefusedError,
  DialError,
  DialTimeoutError,
  ListenError,
  PeerGoneError,
  SocketError,
  TlsHandshakeError,
  UpgradeError,
} from "./src/transport/errors.ts";

// The runtime seam's error: a permission the process lacks (Deno's --allow-*).
export { PermissionError } from "./src/runtime/errors.ts";

// Wire codec choice (the `wireCodec` option) and its error; the loader: `@rpcx/core/native`.
export { NativeCodecUnavailableError, type WireCodecMode } from "./src/native/wire_codec.ts";
