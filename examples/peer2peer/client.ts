// Calls Arith.Mul {A:10, B:20} on one server found by Peer2Peer discovery.
//   deno run -A examples/peer2peer/client.ts --addr localhost:8972
import { FailMode, Peer2PeerDiscovery, SelectMode, XClient } from "@rpcx/core";
import { callMul, flag } from "../arith.ts";

const addr = flag(Deno.args, "addr", "localhost:8972");
const xclient = new XClient(
  "Arith",
  FailMode.Failtry,
  SelectMode.RandomSelect,
  new Peer2PeerDiscovery(`tcp@${addr}`),
);
await callMul(xclient, { timeout: 5000 });
