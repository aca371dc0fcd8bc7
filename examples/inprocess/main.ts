// The embedded default: a server and a client in one process, found through the in-process
// registry, no sockets. Args and replies still go through the codec.
//   deno run examples/inprocess/main.ts
import { FailMode, InprocessDiscovery, SelectMode, Server, XClient } from "@rpcx/core";
import { Arith, callMul } from "../arith.ts";

const server = new Server();
await server.register(new Arith(), "Arith", "weight=1");
await server.serve("inprocess", "arith-1");

const xclient = new XClient(
  "Arith",
  FailMode.Failover,
  SelectMode.RoundRobin,
  new InprocessDiscovery("Arith"),
);
await callMul(xclient);
await server.shutdown();
