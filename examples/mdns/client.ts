// Finds Arith servers over mDNS/DNS-SD and calls Arith.Mul {A:10, B:20} --count times, once a second.
//   deno run -A examples/mdns/client.ts --count 3
// --timeout: how long one browse listens, ms; --interval: time between browses, ms.
import { FailMode, SelectMode, XClient } from "../../mod.ts";
import { MdnsDiscovery } from "../../src/discovery/mdns.ts";
import { type Args, flag, type Reply } from "../arith.ts";

const count = Number(flag(Deno.args, "count", "1"));
const discovery = new MdnsDiscovery("Arith", {
  timeout: Number(flag(Deno.args, "timeout", "1000")),
  watchInterval: Number(flag(Deno.args, "interval", "10000")),
});
const xclient = new XClient("Arith", FailMode.Failover, SelectMode.RoundRobin, discovery);
const args: Args = { A: 10, B: 20 };
try {
  await discovery.ready();
  for (let i = 0; i < count; i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, 1000));
    const reply = await xclient.call<Reply>("Mul", args, { timeout: 5000 });
    console.log(`${args.A} * ${args.B} = ${reply.C}`);
  }
} catch (e) {
  console.error(`failed to call: ${(e as Error).message}`);
  Deno.exitCode = 1;
} finally {
  await xclient.close();
  await discovery.close();
}
