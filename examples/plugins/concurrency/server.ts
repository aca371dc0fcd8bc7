// Serves Arith running at most --max calls at once, --queue more waiting; calls beyond fail with
// "rpcx: server busy: ...".
//   deno run -A examples/plugins/concurrency/server.ts --addr localhost:8972 --max 64 --queue 1000
import { Server } from "@rpcx/core";
import { concurrencyLimit } from "@rpcx/core/plugins/concurrency";
import { Arith, flag } from "../../arith.ts";

const addr = flag(Deno.args, "addr", "localhost:8972");
const server = new Server({
  plugins: [concurrencyLimit({
    max: Number(flag(Deno.args, "max", "64")),
    queue: Number(flag(Deno.args, "queue", "1000")),
  })],
});
await server.register(new Arith(), "Arith");
server.shutdownOnSignals();
console.log(`listening on ${await server.serve("tcp", addr)}`);
