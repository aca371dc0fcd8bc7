// Calls Arith.Mul --count times, --interval ms apart, through a breaker that opens after 3
// failures in a row and lets a trial call through after 1 s; prints each reply or error
// (`breaker open` while it is open). Stop and restart the server to watch it open and close.
//   deno run -A examples/plugins/breaker/client.ts --addr localhost:8972 --count 20 --interval 200
import { FailMode, Peer2PeerDiscovery, SelectMode, XClient } from "@rpcx/core";
import { breakerPlugin, ConsecutiveBreaker } from "@rpcx/core/plugins/breaker";
import { type Args, flag, type Reply } from "../../arith.ts";

const addr = flag(Deno.args, "addr", "localhost:8972");
const count = Number(flag(Deno.args, "count", "10"));
const interval = Number(flag(Deno.args, "interval", "200"));
const xclient = new XClient(
  "Arith",
  FailMode.Failfast,
  SelectMode.RandomSelect,
  new Peer2PeerDiscovery(`tcp@${addr}`),
  { plugins: [breakerPlugin(() => new ConsecutiveBreaker(3, 1000))] },
);
const args: Args = { A: 10, B: 20 };
let failed = 0;
for (let i = 0; i < count; i++) {
  if (i > 0) await new Promise((r) => setTimeout(r, interval));
  try {
    const reply = await xclient.call<Reply>("Mul", args, { timeout: 1000 });
    console.log(`${args.A} * ${args.B} = ${reply.C}`);
  } catch (e) {
    failed++;
    console.log(`ERROR: ${(e as Error).message}`);
  }
}
await xclient.close();
if (failed === count) Deno.exitCode = 1;
