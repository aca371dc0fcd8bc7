// Calls Arith.Mul on two servers listed by MultipleServers discovery, round robin.
//   deno run -A examples/multiple/client.ts --addr1 localhost:8972 --addr2 localhost:9981
import { FailMode, MultipleServersDiscovery, SelectMode, XClient } from "@rpcx/core";
import { callMul, flag } from "../arith.ts";

const discovery = new MultipleServersDiscovery([
  { key: `tcp@${flag(Deno.args, "addr1", "localhost:8972")}`, value: "" },
  { key: `tcp@${flag(Deno.args, "addr2", "localhost:9981")}`, value: "" },
]);
const xclient = new XClient("Arith", FailMode.Failover, SelectMode.RoundRobin, discovery);
const count = Number(flag(Deno.args, "count", "2"));
await callMul(xclient, { count, timeout: 5000 });
