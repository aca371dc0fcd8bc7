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
 * import { FailMode, InprocessDiscovery, SelectMode, Server, XClient } from "@rpcx/core";
 *
 * class Arith {
 *   Mul(args: { A: number; B: number }) {
 *     return { C: args.A * args.B };
 *   }
 * }
 * const server = new Server();
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
export * from "./src/log/logger.ts";
export * from "./src/protocol/constants.ts";
export * from "./src/protocol/errors.ts";
export * from "./src/protocol/message.ts";
export * from "./src/protocol/framing.ts";
export * from "./src/protocol/compression.ts";
export * from "./src/protocol/transport.ts";
export * from "./src/codec/codec.ts";
export * from "./src/codec/registry.ts";
export * from "./src/codec/raw.ts";
export * from "./src/codec/json.ts";
export * from "./src/codec/msgpack.ts";
export * from "./src/codec/protobuf.ts";
export * from "./src/server/context.ts";
export * from "./src/server/plugin.ts";
export * from "./src/server/service.ts";
export * from "./src/server/server.ts";
export * from "./src/client/errors.ts";
export * from "./src/client/client.ts";
export * from "./src/client/typed.ts";
export * from "./src/client/selectors.ts";
export * from "./src/client/xclient.ts";
export * from "./src/client/plugin.ts";
export * from "./src/discovery/discovery.ts";
export * from "./src/discovery/metadata.ts";
export * from "./src/discovery/peer2peer.ts";
export * from "./src/discovery/multiple_servers.ts";
export * from "./src/discovery/inprocess.ts";
export * from "./src/discovery/kv_register.ts";
export * from "./src/native/native.ts";
