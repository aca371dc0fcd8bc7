// rpcx-examples oneclient/server: Arith and an "echo" service (Say returns its argument) on one
// server, for OneClient. Go's oneclient/client calls it unchanged.
//   deno run -A examples/oneclient/server.ts --addr localhost:8972
import { Server } from "@rpcx/core";
import { Arith, flag } from "../arith.ts";

const addr = flag(Deno.args, "addr", "localhost:8972");
const server = new Server();
await server.register(new Arith(), "Arith");
await server.register({ Say: (s: string) => s }, "echo");
server.shutdownOnSignals();
console.log(`listening on tcp@${await server.serve("tcp", addr)}`);
