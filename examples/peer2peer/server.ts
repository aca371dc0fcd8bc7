// Serves Arith on --addr (default localhost:8972); Go rpcx clients call it unchanged.
//   deno run -A examples/peer2peer/server.ts --addr localhost:8972
import { Server } from "@rpcx/core";
import { Arith, flag } from "../arith.ts";

const addr = flag(Deno.args, "addr", "localhost:8972");
const server = new Server();
await server.register(new Arith(), "Arith");
server.shutdownOnSignals();
console.log(`listening on ${await server.serve("tcp", addr)}`);
