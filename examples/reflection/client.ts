// rpcx-examples reflection/client: asks a server's reflection service for the Go text of
// service Arith (Reflection.GetService) and of every service (Reflection.GetServices).
//   deno run -A examples/reflection/client.ts --addr localhost:8972
import { FailMode, Peer2PeerDiscovery, SelectMode, XClient } from "@rpcx/core";
import { flag } from "../arith.ts";

const addr = flag(Deno.args, "addr", "localhost:8972");
const xclient = new XClient(
  "Reflection",
  FailMode.Failtry,
  SelectMode.RandomSelect,
  new Peer2PeerDiscovery(`tcp@${addr}`),
);
try {
  const one = await xclient.call<string>("GetService", "Arith", { timeout: 5000 });
  console.log(`all registered service Arith: \n${one}`);
  const all = await xclient.call<string>("GetServices", "ass", { timeout: 5000 });
  console.log(`all registered services: \n${all}`);
} catch (e) {
  console.error(`failed to call: ${(e as Error).message}`);
  Deno.exitCode = 1;
} finally {
  await xclient.close();
}
