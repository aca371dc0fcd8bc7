// The embedded default: a server and a client in one process, over the `inprocess` network (an
// in-memory pipe, no socket), found through the in-process registry. Frames and codecs are the
// network path's.
//   deno run examples/inprocess/main.ts
import {
  FailMode,
  InprocessDiscovery,
  InprocessRegisterPlugin,
  SelectMode,
  Server,
  XClient,
} from "@rpcx/core";
import { Arith, callMul } from "../arith.ts";

// The plugin lists the server's services in the in-process registry once it serves.
const server = new Server({ plugins: [new InprocessRegisterPlugin()] });
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
