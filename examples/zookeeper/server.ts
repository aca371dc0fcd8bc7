// Serves Arith on --addr and registers it in ZooKeeper under --base, as Go rpcx-zookeeper does
// (/base/Arith/tcp@host:port, an ephemeral node holding the metadata).
//   deno run -A examples/zookeeper/server.ts --addr localhost:8972 --registry 127.0.0.1:2181 --base /rpcx_test
// --meta: metadata string (e.g. weight=10&group=a); --session: ZooKeeper session timeout in ms
// (a killed server disappears this long after); --update: refresh period in ms.
import { Server } from "@rpcx/core";
import { ZooKeeperRegisterPlugin } from "@rpcx/core/zookeeper";
import { Arith, flag } from "../arith.ts";

const addr = flag(Deno.args, "addr", "localhost:8972");
const server = new Server();
server.use(
  new ZooKeeperRegisterPlugin({
    servers: flag(Deno.args, "registry", "127.0.0.1:2181").split(","),
    basePath: flag(Deno.args, "base", "/rpcx_test"),
    sessionTimeout: Number(flag(Deno.args, "session", "10000")),
    updateInterval: Number(flag(Deno.args, "update", "10000")),
  }),
);
await server.register(new Arith(), "Arith", flag(Deno.args, "meta", ""));
server.shutdownOnSignals();
console.log(`listening on ${await server.serve("tcp", addr)}`);
