// rpcx-examples pool/server: Arith on --addr, for the client pool.
//   deno run -A examples/pool/server.ts --addr localhost:8972
import { Server } from "@rpcx/core";
import { Arith, flag } from "../arith.ts";

const addr = flag(Deno.args, "addr", "localhost:8972");
const server = new Server();
await server.register(new Arith(), "Arith");
server.shutdownOnSignals();
console.log(`listening on tcp@${await server.serve("tcp", addr)}`);
