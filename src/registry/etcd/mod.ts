/**
 * etcd v3 registry, laid out exactly as Go rpcx-etcd (`serverplugin.EtcdV3RegisterPlugin`,
 * `client.EtcdV3Discovery`) does it, so Go and Deno servers and clients find each other:
 *
 * - `basePath` → `rpcx_path`, `basePath/Service` → `Service`,
 *   `basePath/Service/network@host:port` → the metadata string.
 * - Keys are the paths exactly as built from `basePath` (Go's store/etcdv3 `Put` does not
 *   normalize them: `/rpcx_test` gives `/rpcx_test/Arith/tcp@…`, `rpcx_test` gives
 *   `rpcx_test/Arith/tcp@…`). Use the same `basePath` string on both sides.
 * - Every key the plugin writes (directories included: Go ignores `IsDir`) is attached to one
 *   lease per plugin, TTL = updateInterval + expired (seconds; 30 s when both are 0), kept alive
 *   by lease keep-alive. When the lease is lost, a new one is granted and every key re-put.
 *
 * The discovery lists the prefix `basePath/Service/` (key = what follows it), watches it, and
 * re-lists after every change and every reconnect.
 *
 * @example
 * ```ts
 * import { Server, XClient, FailMode, SelectMode } from "@rpcx/core";
 * import { EtcdDiscovery, EtcdRegisterPlugin } from "@rpcx/core/etcd";
 *
 * const server = new Server();
 * server.use(new EtcdRegisterPlugin({ servers: ["127.0.0.1:2379"], basePath: "/rpcx_test" }));
 * await server.register({ Mul: (a: { A: number; B: number }) => ({ C: a.A * a.B }) }, "Arith");
 * await server.serve("tcp", "127.0.0.1:8972");
 *
 * const d = new EtcdDiscovery("/rpcx_test", "Arith", ["127.0.0.1:2379"]);
 * const xclient = new XClient("Arith", FailMode.Failover, SelectMode.RoundRobin, d);
 * console.log(await xclient.call("Mul", { A: 10, B: 20 }));
 * ```
 *
 * @module
 */
export { type Etcd3Options, type EtcdClientOptions } from "./client.ts";
export { EtcdError, EtcdUnreachableError } from "./errors.ts";
export { type EtcdRegisterOptions, EtcdRegisterPlugin } from "./register.ts";
export { EtcdDiscovery, type EtcdDiscoveryOptions } from "./discovery.ts";
