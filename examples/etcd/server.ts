// Serves Arith on --addr and registers it in etcd under --base, as Go rpcx-etcd does.
//   deno run -A examples/etcd/server.ts --addr localhost:8972 --registry 127.0.0.1:2379 --base /rpcx_test
// --update: refresh period in ms (the lease lives two periods).
import { Server } from "@rpcx/core";
import { EtcdRegisterPlugin } from "@rpcx/core/etcd";
import { Arith, flag } from "../arith.ts";

const addr = flag(Deno.args, "addr", "localhost:8972");
const server = new Server();
server.use(
  new EtcdRegisterPlugin({
    servers: flag(Deno.args, "registry", "127.0.0.1:2379").split(","),
    basePath: flag(Deno.args, "base", "/rpcx_test"),
    updateInterval: Number(flag(Deno.args, "update", "10000")),
  }),
);
await server.register(new Arith(), "Arith", flag(Deno.args, "meta", ""));
server.shutdownOnSignals();
console.log(`listening on ${await server.serve("tcp", addr)}`);
