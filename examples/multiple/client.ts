// Calls Arith.Mul on two servers listed by MultipleServers discovery, round robin.
//   deno run -A examples/multiple/client.ts --addr1 localhost:8972 --addr2 localhost:9981
import { FailMode, MultipleServersDiscovery, SelectMode, XClient } from "../../mod.ts";
import { type Args, flag, type Reply } from "../arith.ts";

const discovery = new MultipleServersDiscovery([
  { key: `tcp@${flag(Deno.args, "addr1", "localhost:8972")}`, value: "" },
  { key: `tcp@${flag(Deno.args, "addr2", "localhost:9981")}`, value: "" },
]);
const xclient = new XClient("Arith", FailMode.Failover, SelectMode.RoundRobin, discovery);
const count = Number(flag(Deno.args, "count", "2"));
const args: Args = { A: 10, B: 20 };
try {
  for (let i = 0; i < count; i++) {
    const reply = await xclient.call<Reply>("Mul", args, { timeout: 5000 });
    console.log(`${args.A} * ${args.B} = ${reply.C}`);
  }
} catch (e) {
  console.error(`failed to call: ${(e as Error).message}`);
  Deno.exitCode = 1;
} finally {
  await xclient.close();
}
