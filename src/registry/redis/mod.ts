/**
 * Redis registry, laid out exactly as Go rpcx-redis (`serverplugin.RedisRegisterPlugin`,
 * `client.NewRedisDiscovery`, over rpcxio/libkv's Redis store) does it, so Go and Deno servers
 * and clients find each other:
 *
 * - Keys are libkv's normalized paths: `/` + the path as built from `basePath`, so
 *   `/rpcx_test` gives `//rpcx_test/Arith/tcp@…` and `rpcx_test` gives `/rpcx_test/Arith/…`.
 *   Use the same `basePath` string on both sides.
 * - Values are libkv's JSON of Go's `store.KVPair`:
 *   `{"Key":"/rpcx_test/Arith/tcp@…","Value":"<base64 of the metadata>","LastIndex":<n>}`.
 * - `basePath` → `rpcx_path` and `basePath/Service` → `Service`, without expiry;
 *   `basePath/Service/network@host:port` → the metadata, with a TTL of `updateInterval +
 *   expired` (default twice `updateInterval`, Go's `UpdateInterval * 2`; `SET … EX` for whole
 *   seconds, `PX` otherwise, as go-redis writes it), rewritten every `updateInterval`.
 * - The discovery lists the prefix (SCAN + MGET) and follows Redis keyspace notifications of
 *   it; like libkv it turns them on itself (`CONFIG SET notify-keyspace-events`), so a
 *   redis-server with its defaults works.
 * - One Redis server per plugin or discovery (libkv refuses several); `db` is libkv's
 *   `Bucket`. Password and ACL user, and TLS, go beyond Go (libkv takes only the password).
 *
 * @example
 * ```ts
 * import { FailMode, SelectMode, Server, XClient } from "@rpcx/core";
 * import { RedisDiscovery, RedisRegisterPlugin } from "@rpcx/core/redis";
 *
 * const server = new Server();
 * server.use(new RedisRegisterPlugin({ servers: ["127.0.0.1:6379"], basePath: "/rpcx_test" }));
 * await server.register({ Mul: (a: { A: number; B: number }) => ({ C: a.A * a.B }) }, "Arith");
 * await server.serve("tcp", "127.0.0.1:8972");
 *
 * const d = new RedisDiscovery("/rpcx_test", "Arith", ["127.0.0.1:6379"]);
 * const xclient = new XClient("Arith", FailMode.Failover, SelectMode.RoundRobin, d);
 * console.log(await xclient.call("Mul", { A: 10, B: 20 }));
 * ```
 *
 * @module
 */
export { type RedisClientOptions, RedisError } from "./options.ts";
export { type RedisRegisterOptions, RedisRegisterPlugin } from "./register.ts";
export { RedisDiscovery, type RedisDiscoveryOptions } from "./discovery.ts";
