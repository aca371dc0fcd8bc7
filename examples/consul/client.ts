// Finds Arith servers in Consul and calls Arith.Mul {A:10, B:20} --count times, once a second.
//   deno run -A examples/consul/client.ts --registry 127.0.0.1:8500 --base /rpcx_test --count 3
import { FailMode, SelectMode, XClient } from "@rpcx/core";
import { ConsulDiscovery } from "@rpcx/core/consul";
import { callMul, flag } from "../arith.ts";

const registry = flag(Deno.args, "registry", "127.0.0.1:8500").split(",");
const base = flag(Deno.args, "base", "/rpcx_test");
const count = Number(flag(Deno.args, "count", "1"));
const discovery = new ConsulDiscovery(base, "Arith", registry);
const xclient = new XClient("Arith", FailMode.Failover, SelectMode.RoundRobin, discovery);
await callMul(xclient, { count, intervalMs: 1000, timeout: 5000 });
await discovery.close();
