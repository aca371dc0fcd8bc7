// rpcx-examples restart/server: Arith on --addr printing "C= <C>" for each call. Stop it and
// start it again while a client waits: the client's next call connects anew.
//   deno run -A examples/restart/server.ts --addr localhost:8972
import { Server } from "@rpcx/core";
import { flag, PrintingArith } from "../arith.ts";

const addr = flag(Deno.args, "addr", "localhost:8972");
const server = new Server();
await server.register(new PrintingArith(), "Arith");
server.shutdownOnSignals();
console.log(`listening on tcp@${await server.serve("tcp", addr)}`);
