// Serves Arith over mutual TLS: clients must present a certificate signed by --ca.
//   deno run -A examples/tls/server.ts --addr localhost:8973 \
//     --cert server.pem --key server.key --ca ca.pem
// Go's rpcx clients with a client certificate (client.Option.TLSConfig with Certificates and
// RootCAs) call it unchanged. Make test certificates with openssl: see examples/tls/README.md.
import { Server } from "@rpcx/core";
import { Arith, flag } from "../arith.ts";

const read = (name: string) => Deno.readTextFile(flag(Deno.args, name, `${name}.pem`));
const server = new Server({
  tls: {
    certChain: await read("cert"),
    privateKey: await Deno.readTextFile(flag(Deno.args, "key", "server.key")),
    caCerts: [await read("ca")],
    requireClientCert: true,
  },
});
await server.register(new Arith(), "Arith");
server.shutdownOnSignals();
console.log(
  `listening on tcp@${await server.serve("tcp", flag(Deno.args, "addr", "localhost:8973"))}`,
);
