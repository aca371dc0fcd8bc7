// Finds Arith servers in Redis and calls Arith.Mul {A:10, B:20} --count times, once a second.
//   deno run -A examples/redis/client.ts --registry 127.0.0.1:6379 --base /rpcx_test --count 3
// --password: Redis's password.
import { FailMode, SelectMode, XClient } from "@rpcx/core";
import { RedisDiscovery } from "@rpcx/core/redis";
import { callMul, flag } from "../arith.ts";

const registry = flag(Deno.args, "registry", "127.0.0.1:6379").split(",");
const base = flag(Deno.args, "base", "/rpcx_test");
const count = Number(flag(Deno.args, "count", "1"));
const password = flag(Deno.args, "password", "");
const discovery = new RedisDiscovery(base, "Arith", registry, { password: password || undefined });
const xclient = new XClient("Arith", FailMode.Failover, SelectMode.RoundRobin, discovery);
await callMul(xclient, { count, intervalMs: 1000, timeout: 5000 });
await discovery.close();
