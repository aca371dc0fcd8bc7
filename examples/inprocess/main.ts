// The embedded default: a server and a client in one process, found through the in-process
// registry, no sockets. Args and replies still go through the codec.
//   deno run examples/inprocess/main.ts
import { FailMode, InprocessDiscovery, SelectMode, Server, XClient } from "../../mod.ts";
import { type Args, Arith, type Reply } from "../arith.ts";

const server = new Server();
await server.register(new Arith(), "Arith", "weight=1");
await server.serve("inprocess", "arith-1");

const xclient = new XClient(
  "Arith",
  FailMode.Failover,
  SelectMode.RoundRobin,
  new InprocessDiscovery("Arith"),
);
const args: Args = { A: 10, B: 20 };
try {
  const reply = await xclient.call<Reply>("Mul", args);
  console.log(`${args.A} * ${args.B} = ${reply.C}`);
} catch (e) {
  console.error(`failed to call: ${(e as Error).message}`);
  Deno.exitCode = 1;
} finally {
  await xclient.close();
  await server.shutdown();
}
