// rpcx-examples handler/client: calls Arith.Mul (JSON) --count times (default 3), --interval ms
// apart (default 1000), printing each reply.
//   deno run -A examples/handler/client.ts --addr localhost:8972
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
await callMul(xclient, {
  count: Number(flag(Deno.args, "count", "3")),
  intervalMs: Number(flag(Deno.args, "interval", "1000")),
  timeout: 5000,
});
