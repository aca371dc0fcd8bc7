// Serves Arith on two addresses (two servers), for the MultipleServers example.
//   deno run -A examples/multiple/server.ts --addr1 localhost:8972 --addr2 localhost:9981
import { Server } from "@rpcx/core";
import { Arith, flag } from "../arith.ts";

for (const name of ["addr1", "addr2"]) {
  const addr = flag(Deno.args, name, name === "addr1" ? "localhost:8972" : "localhost:9981");
  const server = new Server();
  await server.register(new Arith(), "Arith");
  server.shutdownOnSignals();
  console.log(`listening on ${await server.serve("tcp", addr)}`);
}
