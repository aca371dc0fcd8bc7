// Go rpcx's bidirectional example client: calls Arith.Mul once on --addr (default
// localhost:8972), then prints every message the server pushes, as text (Go:
// NewBidirectionalXClient). --count N exits after N pushes (default: runs until killed).
//   deno run -A examples/bidirectional/client.ts --addr localhost:8972
import { FailMode, Peer2PeerDiscovery, SelectMode, XClient } from "@rpcx/core";
import { flag, type Reply } from "../arith.ts";

const addr = flag(Deno.args, "addr", "localhost:8972");
const count = Number(flag(Deno.args, "count", "Infinity"));

const xclient = new XClient(
  "Arith",
  FailMode.Failtry,
  SelectMode.RandomSelect,
  new Peer2PeerDiscovery(`tcp@${addr}`),
);
const pushes = xclient.serverMessages();
try {
  const reply = await xclient.call<Reply>("Mul", { A: 10, B: 20 }, { timeout: 5000 });
  console.log(`10 * 20 = ${reply.C}`);
  let n = 0;
  for await (const msg of pushes) {
    console.log(`receive msg from server: ${new TextDecoder().decode(msg.data)}`);
    if (++n >= count) break;
  }
} catch (e) {
  console.error(`failed to call: ${(e as Error).message}`);
  Deno.exitCode = 1;
} finally {
  await xclient.close();
}
