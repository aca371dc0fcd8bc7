// rpcx-examples broadcast/client: Arith.Mul on every server of a MultipleServers discovery
// (Go's XClient.Broadcast), --count times (default 3) --interval ms apart (default 1000); then
// once with inform (Go's Inform): one receipt per server, its address and reply or error.
//   deno run -A examples/broadcast/client.ts --addr1 tcp@localhost:8972 --addr2 tcp@localhost:9981
import { FailMode, MultipleServersDiscovery, SelectMode, XClient } from "@rpcx/core";
import { type Args, flag, type Reply } from "../arith.ts";

const discovery = new MultipleServersDiscovery([
  { key: flag(Deno.args, "addr1", "tcp@localhost:8972"), value: "" },
  { key: flag(Deno.args, "addr2", "tcp@localhost:9981"), value: "" },
]);
const xclient = new XClient("Arith", FailMode.Failover, SelectMode.RoundRobin, discovery);
const count = Number(flag(Deno.args, "count", "3"));
const interval = Number(flag(Deno.args, "interval", "1000"));
const args: Args = { A: 10, B: 20 };
try {
  for (let i = 0; i < count; i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, interval));
    const replies = await xclient.broadcast<Reply>("Mul", args, { timeout: 5000 });
    console.log(
      `${args.A} * ${args.B} = ${replies.map((r) => r.C).sort((a, b) => a - b).join(", ")}`,
    );
  }
  for (const r of await xclient.inform<Reply>("Mul", args, { timeout: 5000 })) {
    console.log(`receipt ${r.address}: ${r.error ? `error ${String(r.error)}` : r.reply!.C}`);
  }
} catch (e) {
  console.error(`failed to call: ${(e as Error).message}`);
  Deno.exitCode = 1;
} finally {
  await xclient.close();
}
