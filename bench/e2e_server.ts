// The server side of bench/e2e.ts: Bench.Echo and Arith, in its own process.
//   deno run -A bench/e2e_server.ts --addr 127.0.0.1:0 [--plugins none|noop|tracing|metrics]
//   [--network tcp|unix|http|ws|wss] [--tls-cert cert.pem --tls-key key.pem]
//   [--sockets deno|node]  (Deno's own sockets, default, or node:net on Deno's Node layer)
//   [--no-http]  (HTTP invoke and JSON-RPC off)
//   [--node-sockets | --deno-sockets]  (serve tcp with ListenOptions.nodeSockets true or false:
//   node:net on Deno, the default, whose sockets node:http takes over whole, or Deno's own)
//   (prints "LISTENING host:port")
import { Server } from "@rpcx/core";
import { flag } from "../examples/arith.ts";
import { registerBenchServices } from "./_services.ts";
import { benchServerPlugins } from "./_plugins.ts";
import { nodeRuntime, setRuntime } from "../src/runtime/mod.ts";

if (flag(Deno.args, "sockets", "deno") === "node") setRuntime(nodeRuntime);

const cert = flag(Deno.args, "tls-cert", "");
const noHttp = Deno.args.includes("--no-http");
const server = new Server({
  disableHTTPGateway: noHttp,
  disableJSONRPC: noHttp,
  wireCodec: flag(Deno.args, "codec", "auto") as "auto" | "ts" | "native",
  plugins: benchServerPlugins(flag(Deno.args, "plugins", "none")),
  tls: cert
    ? {
      certChain: await Deno.readTextFile(cert),
      privateKey: await Deno.readTextFile(flag(Deno.args, "tls-key", "")),
    }
    : undefined,
});
await registerBenchServices(server);
server.shutdownOnSignals();
const network = flag(Deno.args, "network", "tcp");
const addr = flag(Deno.args, "addr", "127.0.0.1:0");
const nodeSockets = Deno.args.includes("--deno-sockets")
  ? false
  : Deno.args.includes("--node-sockets")
  ? true
  : undefined;
console.log(`LISTENING ${await server.serve(network, addr, { nodeSockets })}`);
