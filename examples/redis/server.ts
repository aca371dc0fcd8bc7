// Serves Arith on --addr and registers it in Redis under --base, as Go rpcx-redis does.
//   deno run -A examples/redis/server.ts --addr localhost:8972 --registry 127.0.0.1:6379 --base /rpcx_test
// --update: refresh period in ms (the node's TTL is two periods); --password: Redis's password.
import { Server } from "@rpcx/core";
import { RedisRegisterPlugin } from "@rpcx/core/redis";
import { Arith, flag } from "../arith.ts";

const addr = flag(Deno.args, "addr", "localhost:8972");
const password = flag(Deno.args, "password", "");
const server = new Server();
server.use(
  new RedisRegisterPlugin({
    servers: flag(Deno.args, "registry", "127.0.0.1:6379").split(","),
    basePath: flag(Deno.args, "base", "/rpcx_test"),
    updateInterval: Number(flag(Deno.args, "update", "10000")),
    password: password || undefined,
  }),
);
await server.register(new Arith(), "Arith", flag(Deno.args, "meta", ""));
server.shutdownOnSignals();
console.log(`listening on ${await server.serve("tcp", addr)}`);
