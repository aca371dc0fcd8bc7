// Serves Arith on --addr (default localhost:8972); Go rpcx clients call it unchanged.
//   deno run -A examples/peer2peer/server.ts --addr localhost:8972
//   deno run -A examples/peer2peer/server.ts --network unix --addr /tmp/arith.sock
//   deno run -A examples/peer2peer/server.ts --network wss --tls-cert cert.pem --tls-key key.pem
// --network: tcp (default), unix (--addr is the socket path), http (CONNECT), ws, wss.
// --tls-cert/--tls-key: serve TLS (tcp, http; required for wss).
import { Server } from "@rpcx/core";
import { Arith, flag } from "../arith.ts";

const network = flag(Deno.args, "network", "tcp");
const addr = flag(Deno.args, "addr", "localhost:8972");
const cert = flag(Deno.args, "tls-cert", "");
const key = flag(Deno.args, "tls-key", "");
const tls = cert
  ? { certChain: await Deno.readTextFile(cert), privateKey: await Deno.readTextFile(key) }
  : undefined;
const server = new Server({ tls });
await server.register(new Arith(), "Arith");
server.shutdownOnSignals();
console.log(`listening on ${network}@${await server.serve(network, addr)}`);
