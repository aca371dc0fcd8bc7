// rpcx-examples tcpcopy/client: one call of Arith.Mul (JSON), so the server's copy of the bytes
// reads as text.
//   deno run -A examples/tcpcopy/client.ts --addr localhost:8972
import { FailMode, Peer2PeerDiscovery, SelectMode, SerializeType, XClient } from "@rpcx/core";
import { callMul, flag } from "../arith.ts";

const addr = flag(Deno.args, "addr", "localhost:8972");
const xclient = new XClient(
  "Arith",
  FailMode.Failtry,
  SelectMode.RandomSelect,
  new Peer2PeerDiscovery(`tcp@${addr}`),
  { serializeType: SerializeType.JSON },
);
await callMul(xclient, { timeout: 5000 });
