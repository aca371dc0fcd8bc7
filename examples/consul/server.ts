// Serves Arith on --addr and registers it in Consul's KV store under --base, as Go
// rpcx-consul does.
//   deno run -A examples/consul/server.ts --addr localhost:8972 --registry 127.0.0.1:8500 --base /rpcx_test
// --update: refresh period in ms; each node's session TTL is the period (Consul allows 2×).
// Consul refuses session TTLs under its session_ttl_min (10 s by default).
import { Server } from "@rpcx/core";
import { ConsulRegisterPlugin } from "@rpcx/core/consul";
import { Arith, flag } from "../arith.ts";

const addr = flag(Deno.args, "addr", "localhost:8972");
const server = new Server();
server.use(
  new ConsulRegisterPlugin({
    servers: flag(Deno.args, "registry", "127.0.0.1:8500").split(","),
    basePath: flag(Deno.args, "base", "/rpcx_test"),
    updateInterval: Number(flag(Deno.args, "update", "10000")),
  }),
);
await server.register(new Arith(), "Arith", flag(Deno.args, "meta", ""));
server.shutdownOnSignals();
console.log(`listening on ${await server.serve("tcp", addr)}`);
