// The server side of bench/head_to_head.ts under Node and Bun: Arith and Bench (bench/_services.ts)
// as bench/e2e_server.ts serves them under Deno, with no plugins. head_to_head compiles it beside
// the installed npm package, so "@rpcx/core" is the package. Portable: "@rpcx/core" and node:
// built-ins only.
//   node runtime_server.js --addr 127.0.0.1:0 [--network tcp|unix|http|ws|wss]
//                          [--tls-cert cert.pem --tls-key key.pem]
//   (prints "LISTENING host:port"; shuts down and exits on SIGTERM)
import { readFileSync } from "node:fs";
import process from "node:process";
import { Server } from "@rpcx/core";
import { flag } from "../examples/arith.ts";
import { registerBenchServices } from "./_services.ts";

const args = process.argv.slice(2);
const cert = flag(args, "tls-cert", "");
const server = new Server({
  tls: cert
    ? {
      certChain: readFileSync(cert, "utf8"),
      privateKey: readFileSync(flag(args, "tls-key", ""), "utf8"),
    }
    : undefined,
});
await registerBenchServices(server);
server.shutdownOnSignals();
const network = flag(args, "network", "tcp");
console.log(`LISTENING ${await server.serve(network, flag(args, "addr", "127.0.0.1:0"))}`);
