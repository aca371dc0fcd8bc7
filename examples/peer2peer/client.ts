// Calls Arith.Mul {A:10, B:20} on one server found by Peer2Peer discovery.
//   deno run -A examples/peer2peer/client.ts --addr localhost:8972
import { FailMode, Peer2PeerDiscovery, SelectMode, XClient } from "../../mod.ts";
import { type Args, flag, type Reply } from "../arith.ts";

const addr = flag(Deno.args, "addr", "localhost:8972");
const xclient = new XClient(
  "Arith",
  FailMode.Failtry,
  SelectMode.RandomSelect,
  new Peer2PeerDiscovery(`tcp@${addr}`),
);
const args: Args = { A: 10, B: 20 };
try {
  const reply = await xclient.call<Reply>("Mul", args, { timeout: 5000 });
  console.log(`${args.A} * ${args.B} = ${reply.C}`);
} catch (e) {
  console.error(`failed to call: ${(e as Error).message}`);
  Deno.exitCode = 1;
} finally {
  await xclient.close();
}
