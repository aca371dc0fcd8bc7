// Finds Arith servers in etcd and calls Arith.Mul {A:10, B:20} --count times, once a second.
//   deno run -A examples/etcd/client.ts --registry 127.0.0.1:2379 --base /rpcx_test --count 3
import { FailMode, SelectMode, XClient } from "@rpcx/core";
import { EtcdDiscovery } from "@rpcx/core/etcd";
import { callMul, flag } from "../arith.ts";

const registry = flag(Deno.args, "registry", "127.0.0.1:2379").split(",");
const base = flag(Deno.args, "base", "/rpcx_test");
const count = Number(flag(Deno.args, "count", "1"));
const discovery = new EtcdDiscovery(base, "Arith", registry);
const xclient = new XClient("Arith", FailMode.Failover, SelectMode.RoundRobin, discovery);
await callMul(xclient, { count, intervalMs: 1000, timeout: 5000 });
await discovery.close();
