// Serves Arith on --addr (default localhost:8972) for rpcx clients, HTTP invoke (curl) and
// JSON-RPC 2.0 from browsers (CORS on), all on the same port; --page PORT also serves index.html
// on another port (another origin), whose script calls the rpcx port with fetch.
//   deno run -A examples/http/server.ts --addr localhost:8972 --page 8080
import { allowAllCorsOptions, Server } from "@rpcx/core";
import { Arith, flag } from "../arith.ts";

const addr = flag(Deno.args, "addr", "localhost:8972");
const pagePort = flag(Deno.args, "page", "");
const server = new Server({ cors: allowAllCorsOptions() });
await server.register(new Arith(), "Arith");
server.shutdownOnSignals();
console.log(`listening on ${await server.serve("tcp", addr)}`);

if (pagePort) {
  const page = await Deno.readTextFile(new URL("./index.html", import.meta.url));
  const host = addr.slice(0, addr.lastIndexOf(":"));
  Deno.serve({
    hostname: host,
    port: Number(pagePort),
    onListen: ({ port }) => console.log(`page on http://${host}:${port}/?rpcx=${addr}`),
  }, () => new Response(page, { headers: { "content-type": "text/html; charset=utf-8" } }));
}
