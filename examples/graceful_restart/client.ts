// rpcx-examples graceful_restart/client: calls Arith.Mul (JSON) in a loop, --count times
// (default: until stopped), and stops at the first failure (exit 1): a graceful restart of the
// server must not fail any. Prints how many calls were answered every 1000 calls.
//   deno run -A examples/graceful_restart/client.ts --addr localhost:8972 --count 10000
import { FailMode, Peer2PeerDiscovery, SelectMode, SerializeType, XClient } from "@rpcx/core";
import { type Args, flag, type Reply } from "../arith.ts";

const addr = flag(Deno.args, "addr", "localhost:8972");
const count = Number(flag(Deno.args, "count", "Infinity"));
const xclient = new XClient(
  "Arith",
  FailMode.Failtry,
  SelectMode.RandomSelect,
  new Peer2PeerDiscovery(`tcp@${addr}`),
  { serializeType: SerializeType.JSON },
);
const args: Args = { A: 10, B: 20 };
let done = 0;
try {
  while (done < count) {
    const reply = await xclient.call<Reply>("Mul", args, { timeout: 10_000 });
    if (reply.C !== 200) throw new Error(`wrong reply ${JSON.stringify(reply)}`);
    if (++done % 1000 === 0) console.log(`${done} calls answered`);
  }
  console.log(`${done} calls answered`);
} catch (e) {
  console.error(`failed to call: ${(e as Error).message} (after ${done} calls)`);
  Deno.exitCode = 1;
} finally {
  await xclient.close();
}
