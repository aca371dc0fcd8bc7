// rpcx-examples restart/client: three calls of Arith.Mul (JSON), --interval ms apart (default
// 10000: restart the server meanwhile). A failed call is printed and the next one still made:
// the XClient connects again to the restarted server.
//   deno run -A examples/restart/client.ts --addr localhost:8972 --interval 10000
import { FailMode, Peer2PeerDiscovery, SelectMode, SerializeType, XClient } from "@rpcx/core";
import { type Args, flag, type Reply } from "../arith.ts";

const addr = flag(Deno.args, "addr", "localhost:8972");
const interval = Number(flag(Deno.args, "interval", "10000"));
const xclient = new XClient(
  "Arith",
  FailMode.Failtry,
  SelectMode.RandomSelect,
  new Peer2PeerDiscovery(`tcp@${addr}`),
  { serializeType: SerializeType.JSON },
);
const args: Args = { A: 10, B: 20 };
for (let i = 1; i <= 3; i++) {
  if (i > 1) await new Promise((r) => setTimeout(r, interval));
  let C = 0;
  try {
    C = (await xclient.call<Reply>("Mul", args, { timeout: 5000 })).C;
  } catch (e) {
    console.log(`failed to call${i}: ${(e as Error).message}`);
    Deno.exitCode = 1;
  }
  console.log(`#${i}, ${args.A} * ${args.B} = ${C}`);
}
await xclient.close();
