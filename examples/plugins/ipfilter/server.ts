// Serves Arith to the addresses and CIDR masks of --allow (comma list), closing connections
// from --deny at once.
//   deno run -A examples/plugins/ipfilter/server.ts --addr [::]:8972 --allow 127.0.0.0/8 --deny ::1
import { Server } from "@rpcx/core";
import type { ServerPlugin } from "@rpcx/core/extend";
import { ipAllowList, ipDenyList } from "@rpcx/core/plugins/ipfilter";
import { Arith, flag } from "../../arith.ts";

const addr = flag(Deno.args, "addr", "localhost:8972");
const list = (name: string) => flag(Deno.args, name, "").split(",").filter((s) => s !== "");
const plugins: ServerPlugin[] = [];
if (list("allow").length > 0) plugins.push(ipAllowList(list("allow")));
if (list("deny").length > 0) plugins.push(ipDenyList(list("deny")));
const server = new Server({ plugins });
await server.register(new Arith(), "Arith");
server.shutdownOnSignals();
console.log(`listening on ${await server.serve("tcp", addr)}`);
