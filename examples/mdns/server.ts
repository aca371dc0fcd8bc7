// Serves Arith on --addr and advertises it over mDNS/DNS-SD, as Go rpcx's MDNSRegisterPlugin does.
//   deno run -A examples/mdns/server.ts --addr localhost:8972
// --meta: metadata (e.g. "weight=10&group=a"); --update: TXT refresh period in ms;
// --ttl: record TTL in seconds (clients drop a vanished server after it).
import { Server } from "@rpcx/core";
import { MdnsRegisterPlugin } from "@rpcx/core/mdns";
import { Arith, flag } from "../arith.ts";

const addr = flag(Deno.args, "addr", "localhost:8972");
const server = new Server();
server.use(
  new MdnsRegisterPlugin({
    updateInterval: Number(flag(Deno.args, "update", "10000")),
    ttl: Number(flag(Deno.args, "ttl", "120")),
  }),
);
await server.register(new Arith(), "Arith", flag(Deno.args, "meta", ""));
server.shutdownOnSignals();
console.log(`listening on ${await server.serve("tcp", addr)}`);
