/**
 * Consul registry, laid out exactly as Go rpcx-consul (`serverplugin.ConsulRegisterPlugin`,
 * `client.ConsulDiscovery`, over rpcxio/libkv's Consul store) does it — in Consul's KV store,
 * not its service catalog — so Go and Deno servers and clients find each other:
 *
 * - Keys carry no leading slash (`/rpcx_test` and `rpcx_test` both give `rpcx_test/...`).
 * - `basePath` → `rpcx_path`, `basePath/Service` → `Service`,
 *   `basePath/Service/network@host:port` → the metadata string; every key is written with
 *   flags `0x2ddccbc058a50c18` (Consul's lock flag value, as libkv writes it).
 * - The service node is held by its own session (behavior `delete`, lock delay 1 ms,
 *   TTL = (updateInterval + expired) / 2, since Consul waits up to twice a session's TTL before
 *   invalidating it); the session is renewed every `updateInterval`. When the server dies, the
 *   session lapses and Consul deletes the node. With updateInterval + expired = 0 the node is
 *   written without a session, as Go does.
 * - Consul refuses session TTLs below its `session_ttl_min` (10 s unless configured): keep
 *   updateInterval + expired ≥ 20 s against a default agent.
 *
 * The discovery lists `basePath/servicePath/` recursively (the key is what follows the
 * prefix) and follows it with blocking queries (`index` + `wait`).
 *
 * @example
 * ```ts
 * import { FailMode, SelectMode, Server, XClient } from "@rpcx/core";
 * import { ConsulDiscovery, ConsulRegisterPlugin } from "@rpcx/core/consul";
 *
 * const server = new Server();
 * server.use(new ConsulRegisterPlugin({ servers: ["127.0.0.1:8500"], basePath: "/rpcx_test" }));
 * await server.register({ Mul: (a: { A: number; B: number }) => ({ C: a.A * a.B }) }, "Arith");
 * await server.serve("tcp", "127.0.0.1:8972");
 *
 * const d = new ConsulDiscovery("/rpcx_test", "Arith", ["127.0.0.1:8500"]);
 * const xclient = new XClient("Arith", FailMode.Failover, SelectMode.RoundRobin, d);
 * console.log(await xclient.call("Mul", { A: 10, B: 20 }));
 * ```
 *
 * @module
 */
export { CONSUL_LOCK_FLAGS, type ConsulClientOptions, ConsulError } from "./http.ts";
export { type ConsulRegisterOptions, ConsulRegisterPlugin } from "./register.ts";
export { ConsulDiscovery, type ConsulDiscoveryOptions } from "./discovery.ts";
