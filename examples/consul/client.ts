// Finds Arith servers in Consul and calls Arith.Mul {A:10, B:20} --count times, once a second.
//   deno run -A examples/consul/client.ts --registry 127.0.0.1:8500 --base /rpcx_test --count 3
import { FailMode, SelectMode, XClient } from "../../mod.ts";
import { ConsulDiscovery } from "../../src/discovery/consul.ts";
import { type Args, flag, type Reply } from "../arith.ts";

const registry = flag(Deno.args, "registry", "127.0.0.1:8500").split(",");
const base = flag(Deno.args, "base", "/rpcx_test");
const count = Number(flag(Deno.args, "count", "1"));
const discovery = new ConsulDiscovery(base, "Arith", registry);
const xclient = new XClient("Arith", FailMode.Failover, SelectMode.RoundRobin, discovery);
const args: Args = { A: 10, B: 20 };
try {
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
