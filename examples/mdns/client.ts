// Finds Arith servers over mDNS/DNS-SD and calls Arith.Mul {A:10, B:20} --count times, once a second.
//   deno run -A examples/mdns/client.ts --count 3
// --timeout: how long one browse listens, ms; --interval: time between browses, ms.
import { FailMode, SelectMode, XClient } from "@rpcx/core";
import { MdnsDiscovery } from "@rpcx/core/mdns";
import { callMul, flag } from "../arith.ts";

const count = Number(flag(Deno.args, "count", "1"));
const discovery = new MdnsDiscovery("Arith", {
  timeout: Number(flag(Deno.args, "timeout", "1000")),
  watchInterval: Number(flag(Deno.args, "interval", "10000")),
});
const xclient = new XClient("Arith", FailMode.Failover, SelectMode.RoundRobin, discovery);
await discovery.ready();
await callMul(xclient, { count, intervalMs: 1000, timeout: 5000 });
await discovery.close();
