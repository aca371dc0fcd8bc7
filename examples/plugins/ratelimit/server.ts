// Serves Arith, at most --rate calls per second (bursts of --burst); calls beyond get Go's
// error "request reached rate limit". --conns limits new connections per second the same way.
//   deno run -A examples/plugins/ratelimit/server.ts --addr localhost:8972 --rate 100 --burst 10
import { Server } from "@rpcx/core";
import { connRateLimit, reqRateLimit } from "@rpcx/core/plugins/ratelimit";
import { Arith, flag } from "../../arith.ts";

const addr = flag(Deno.args, "addr", "localhost:8972");
const rate = Number(flag(Deno.args, "rate", "100"));
const burst = Number(flag(Deno.args, "burst", "10"));
const conns = Number(flag(Deno.args, "conns", "100"));
const server = new Server({
  plugins: [connRateLimit(1000 / conns, conns), reqRateLimit(1000 / rate, burst)],
});
await server.register(new Arith(), "Arith");
server.shutdownOnSignals();
console.log(`listening on ${await server.serve("tcp", addr)}`);
