// Serves Arith, with Arith.Times as an alias of Arith.Mul (Go's `rpcxpeer client --method
// Times`, or any rpcx client calling Arith.Times, gets Mul's reply).
//   deno run -A examples/plugins/alias/server.ts --addr localhost:8972
import { Server } from "@rpcx/core";
import { AliasPlugin } from "@rpcx/core/plugins/alias";
import { Arith, flag } from "../../arith.ts";

const addr = flag(Deno.args, "addr", "localhost:8972");
const server = new Server({
  plugins: [new AliasPlugin().alias("Arith", "Times", "Arith", "Mul")],
});
await server.register(new Arith(), "Arith");
server.shutdownOnSignals();
console.log(`listening on ${await server.serve("tcp", addr)}`);
