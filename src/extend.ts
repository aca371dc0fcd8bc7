/**
 * `@rpcx/core/extend`: what authors of networks, registries, selectors, codecs and plugins build
 * on, kept out of the user API (`@rpcx/core`) as grpc-js keeps its `experimental` entry and
 * connect-es its `./protocol`. A program that serves and calls with Server, Client and XClient
 * does not import it; a few user options take its types (`ServerOptions.plugins`,
 * `ClientOptions.networks`, `XClientOptions.selector`), as grpc-js's user options take its
 * experimental ones.
 *
 * - Networks: {@linkcode Network}, {@linkcode Connection}, {@linkcode Listener}, the
 *   {@linkcode NetworkRegistry} and the built-in network objects (Go's `RegisterMakeListener`
 *   and `ConnFactories`).
 * - Server and client plugins: {@linkcode ServerPlugin}, {@linkcode RegisterPlugin},
 *   {@linkcode ClientPlugin} and the values their hooks receive (Go's `PluginContainer`s).
 * - Codecs: {@linkcode Codec} and the built-in JSON, msgpack and raw codecs.
 * - Selectors: {@linkcode Selector} and the built-in selectors (Go's `Selector`).
 * - Registries: {@linkcode BaseDiscovery}, {@linkcode ResyncLoop}, {@linkcode RegisterPluginBase},
 *   {@linkcode KvRegisterPlugin}, {@linkcode backoffDelay} and Go's metadata readers, on which
 *   `@rpcx/core/etcd`, `/zookeeper`, `/consul`, `/redis`, `/mdns` and `/dns` are built.
 * - The types the user API refers to but users rarely write: the functions options and methods
 *   take ({@linkcode AuthFunction}, {@linkcode ServiceMethod}, {@linkcode Handler}, ...: users
 *   write the function), what a call returns or an error carries ({@linkcode PendingCall} of
 *   `Client.go`, {@linkcode Receipt} of `XClient.inform`, the `reason` unions of `ListenError`,
 *   `PeerGoneError`, `PermissionError` and `CacheFileError`), and {@linkcode StreamCalls}, the
 *   base class of the clients. The wire's types (`Message`, `DecodeLimits`, ...) are in
 *   `@rpcx/core/protocol`, the native codec's in `/native`, the streams' in `/stream`.
 *
 * @example
 * ```ts
 * import { FailMode, MultipleServersDiscovery, SelectMode, Server, XClient } from "@rpcx/core";
 * import type { ClientPlugin, ServerPlugin } from "@rpcx/core/extend";
 *
 * // A server plugin seeing every request, a client plugin every call.
 * let served = 0;
 * const count: ServerPlugin = {
 *   postReadRequest() {
 *     served++;
 *   },
 * };
 * const calls: string[] = [];
 * const log: ClientPlugin = {
 *   preCall(call) {
 *     calls.push(`${call.servicePath}.${call.serviceMethod}`);
 *   },
 * };
 * const server = new Server({ plugins: [count] });
 * await server.register({ Echo: (s: string) => s }, "Svc");
 * const address = await server.serve("tcp", "127.0.0.1:0");
 * const x = new XClient(
 *   "Svc",
 *   FailMode.Failfast,
 *   SelectMode.RoundRobin,
 *   new MultipleServersDiscovery([{ key: `tcp@${address}`, value: "" }]),
 *   { plugins: [log] },
 * );
 * console.log(await x.call("Echo", "hi"), served, calls); // "hi" 1 [ "Svc.Echo" ]
 * await x.close();
 * await server.close();
 * ```
 *
 * @module
 */

// Networks: the contract a network implements, the registry of networks by name, the built-in
// ones (tcp with TLS, unix, http, ws, wss), the in-process one and pipes (PipeNetwork).
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
} from "./transport/network.ts";
export { defaultNetworks } from "./transport/networks.ts";
export { tcpNetwork } from "./transport/tcp.ts";
export { unixNetwork } from "./transport/unix.ts";
export { httpNetwork } from "./transport/http.ts";
export { wsNetwork, wssNetwork } from "./transport/ws.ts";
// The errors a network raises (PeerGoneError, SocketError: `@rpcx/core`) are built from these.
export type { SocketErrorInfo } from "./transport/errors.ts";
export { inprocessNetwork } from "./transport/inprocess.ts";
export { pipe, PipeNetwork } from "./transport/pipe.ts";
// The process-wide in-process registry the in-process network and InprocessDiscovery read.
export { defaultInprocessRegistry } from "./registry/inprocess.ts";

// Payload codecs: the contract a codec implements (registered with CodecRegistry, named by a
// SerializeType) and the built-in ones.
export type { Codec } from "./codec/codec.ts";
export { rawCodec } from "./codec/raw.ts";
export { jsonCodec } from "./codec/json.ts";
export { msgpackCodec } from "./codec/msgpack.ts";

// The library's current logger (setLogger's), for plugins and registries that log as it does.
export { logger } from "./log/logger.ts";

// Server plugins: the hooks and what they receive.
export {
  type HttpRequestInfo,
  type RegisterPlugin,
  type RegistryStartContext,
  type ServerMetrics,
  type ServerPlugin,
} from "./server/plugin.ts";
export type { PushContext } from "./server/push.ts";

// Client plugins.
export {
  type ClientCall,
  type ClientConnInfo,
  type ClientPlugin,
  type SelectFunc,
} from "./client/plugin.ts";

// Selectors (SelectMode.SelectByUser takes a Selector), the built-in ones and their measures.
export {
  ClosestSelector,
  ConsistentHashSelector,
  geoDistance,
  type LatencyProbe,
  latencyWeight,
  RandomSelector,
  RoundRobinSelector,
  type Selector,
  tcpConnectLatency,
  WeightedLatencySelector,
  WeightedRoundRobinSelector,
} from "./client/selectors.ts";

// Registries: the discovery base, its resync loop and backoff, the register plugins' bases, the
// list entries (Go's KVPair) and Go's metadata readers and writers.
export {
  backoffDelay,
  BaseDiscovery,
  type DiscoveryListener,
  type KVPair,
  type ServiceFilter,
} from "./registry/discovery.ts";
export {
  formatMetadata,
  inGroup,
  isInactive,
  metadataPosition,
  metadataWeight,
  metricsFigures,
  parseMetadata,
} from "./registry/metadata.ts";
export type { RegistryErrorOptions } from "./registry/errors.ts";
export { ResyncLoop, type ResyncOptions, type RetryOptions } from "./registry/resync.ts";
export { RegisterPluginBase, type RegisterPluginOptions } from "./registry/register_base.ts";
export { type KvRegisterOptions, KvRegisterPlugin } from "./registry/kv_register.ts";

// The types the user API refers to but users rarely write: the functions options and methods
// take (users write the function), what a call returns or an error carries, and the parts of a
// type users write (TypedClient, HttpOptions). The wire's types (Message, DecodeLimits, ...) are
// in @rpcx/core/protocol, the native codec's in /native, the streams' in /stream.
export type { AuthFunction, ServiceErrorHandler } from "./server/options.ts";
export type { ServiceMethod } from "./server/service.ts";
export type { Handler } from "./server/handler.ts";
// The base class of XClient, Client and OneClient: their sendFile, downloadFile and stream.
export { StreamCalls } from "./client/stream_calls.ts";
export type { ProtobufFunctions } from "./codec/protobuf.ts";
export type { HttpLimits } from "./http/options.ts";
export type { CallParent, PendingCall } from "./client/client.ts";
export type { Receipt } from "./client/xclient.ts";
export type { MethodNames, TypedMethod } from "./client/typed.ts";
export type { ServerMessageHandler } from "./client/push.ts";
export type { CacheFileProblem } from "./registry/cache.ts";
export type { ListenFailure, PeerGoneReason } from "./transport/errors.ts";
export type { Permission } from "./runtime/types.ts";
