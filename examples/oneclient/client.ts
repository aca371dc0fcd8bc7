// rpcx-examples oneclient/client: one OneClient (Go's NewOneClient) calls two services,
// Arith.Mul and echo.Say, found by one Peer2Peer discovery.
//   deno run -A examples/oneclient/client.ts --addr localhost:8972
import { FailMode, OneClient, Peer2PeerDiscovery, SelectMode } from "@rpcx/core";
import { type Args, flag, type Reply } from "../arith.ts";

const addr = flag(Deno.args, "addr", "localhost:8972");
const oneClient = new OneClient(
  FailMode.Failtry,
  SelectMode.RandomSelect,
  new Peer2PeerDiscovery(`tcp@${addr}`),
);
try {
  const args: Args = { A: 10, B: 20 };
  const reply = await oneClient.call<Reply>("Arith", "Mul", args, { timeout: 5000 });
  console.log(`${args.A} * ${args.B} = ${reply.C}`);
  const echo = await oneClient.call<string>("echo", "Say", "hello world", { timeout: 5000 });
  console.log(`echo ${echo}`);
} catch (e) {
  console.error(`failed to call: ${(e as Error).message}`);
  Deno.exitCode = 1;
} finally {
  await oneClient.close();
}
