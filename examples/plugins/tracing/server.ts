// Serves Arith with tracing on; prints one line per finished span
// (`span rpcx.service.Arith.Mul trace <trace id> id <span id> parent <client span id>`).
//   deno run -A examples/plugins/tracing/server.ts --addr localhost:8972
import { Server } from "@rpcx/core";
import { serverTracing } from "@rpcx/core/plugins/tracing";
import { Arith, flag } from "../../arith.ts";
import { exampleTracing } from "./otel.ts";

const addr = flag(Deno.args, "addr", "localhost:8972");
const { options } = exampleTracing();
const server = new Server({ plugins: [serverTracing(options)] });
await server.register(new Arith(), "Arith");
server.shutdownOnSignals();
console.log(`listening on ${await server.serve("tcp", addr)}`);
