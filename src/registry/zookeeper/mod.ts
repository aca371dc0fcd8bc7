/**
 * ZooKeeper registry for rpcx, laid out exactly as Go rpcx (rpcxio/rpcx-zookeeper over libkv)
 * lays it out, so Deno and Go servers and clients find each other:
 *
 * - `/basePath` — persistent, value `rpcx_path`;
 * - `/basePath/Service` — persistent, value the service name;
 * - `/basePath/Service/tcp@host:port` — EPHEMERAL (lives as long as the server's session), value
 *   the metadata string (`weight=10&group=a`).
 *
 * {@linkcode ZooKeeperRegisterPlugin} advertises a server's services; it opens a new session and
 * re-creates its nodes when its session expires, and replaces a node left by a previous,
 * not yet expired session of the same address (a fast restart). {@linkcode ZooKeeperDiscovery}
 * lists the children of `/basePath/Service` with their data, keeps child and data watches
 * armed, re-lists on reconnect and on a new session, and keeps its last list (with `"outage"`
 * / `"recovered"` events and capped backoff) while ZooKeeper is unreachable.
 *
 * Built on npm `node-zookeeper-client`.
 *
 * @example
 * ```ts
 * import { FailMode, SelectMode, Server, XClient } from "@rpcx/core";
 * import { ZooKeeperDiscovery, ZooKeeperRegisterPlugin } from "@rpcx/core/zookeeper";
 *
 * class Arith {
 *   Mul(args: { A: number; B: number }) {
 *     return { C: args.A * args.B };
 *   }
 * }
 * const server = new Server();
 * server.use(new ZooKeeperRegisterPlugin({ servers: ["127.0.0.1:2181"], basePath: "/rpcx_test" }));
 * await server.register(new Arith(), "Arith", "weight=10");
 * await server.serve("tcp", "127.0.0.1:8972");
 *
 * const discovery = new ZooKeeperDiscovery("/rpcx_test", "Arith", ["127.0.0.1:2181"]);
 * const client = new XClient("Arith", FailMode.Failover, SelectMode.RoundRobin, discovery);
 * console.log(await client.call("Mul", { A: 10, B: 20 })); // { C: 200 }
 * await client.close();
 * await server.shutdown();
 * ```
 *
 * @module
 */
export { ZooKeeperError } from "./errors.ts";
export type { ZooKeeperAuth } from "./session.ts";
export { type ZooKeeperRegisterOptions, ZooKeeperRegisterPlugin } from "./register.ts";
export { ZooKeeperDiscovery, type ZooKeeperDiscoveryOptions } from "./discovery.ts";
