// rpcx-examples pool/client: an XClientPool of 10 clients (Go's NewXClientPool); each of --count
// calls (default 100) takes the next client, round robin.
//   deno run -A examples/pool/client.ts --addr localhost:8972 --count 100
import { FailMode, Peer2PeerDiscovery, SelectMode, XClientPool } from "@rpcx/core";
import { type Args, flag, type Reply } from "../arith.ts";

const addr = flag(Deno.args, "addr", "localhost:8972");
const count = Number(flag(Deno.args, "count", "100"));
const pool = new XClientPool(
  10,
  "Arith",
  FailMode.Failtry,
  SelectMode.RandomSelect,
  new Peer2PeerDiscovery(`tcp@${addr}`),
);
try {
  const args: Args = { A: 10, B: 20 };
  for (let i = 0; i < count; i++) {
    const reply = await pool.get().call<Reply>("Mul", args, { timeout: 5000 });
    console.log(`${args.A} * ${args.B} = ${reply.C}`);
  }
} catch (e) {
  console.error(`failed to call: ${(e as Error).message}`);
  Deno.exitCode = 1;
} finally {
  await pool.close();
}
