// Finds Arith servers in ZooKeeper and calls Arith.Mul {A:10, B:20} --count times, once a second.
//   deno run -A examples/zookeeper/client.ts --registry 127.0.0.1:2181 --base /rpcx_test --count 3
import { FailMode, SelectMode, XClient } from "@rpcx/core";
import { ZooKeeperDiscovery } from "@rpcx/core/zookeeper";
import { callMul, flag } from "../arith.ts";

const registry = flag(Deno.args, "registry", "127.0.0.1:2181").split(",");
const base = flag(Deno.args, "base", "/rpcx_test");
const count = Number(flag(Deno.args, "count", "1"));
const discovery = new ZooKeeperDiscovery(base, "Arith", registry);
const xclient = new XClient("Arith", FailMode.Failover, SelectMode.RoundRobin, discovery);
await callMul(xclient, { count, intervalMs: 1000, timeout: 5000 });
await discovery.close();
