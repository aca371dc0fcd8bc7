// Calls Arith.Mul {A:10, B:20} over mutual TLS: trusts --ca, presents --cert/--key.
//   deno run -A examples/tls/client.ts --addr localhost:8973 \
//     --ca ca.pem --cert client.pem --key client.key
import { FailMode, Peer2PeerDiscovery, SelectMode, XClient } from "@rpcx/core";
import { callMul, flag } from "../arith.ts";

const read = (name: string, fallback: string) => Deno.readTextFile(flag(Deno.args, name, fallback));
const xclient = new XClient(
  "Arith",
  FailMode.Failfast,
  SelectMode.RandomSelect,
  new Peer2PeerDiscovery(`tcp@${flag(Deno.args, "addr", "localhost:8973")}`),
  {
    tls: {
      caCerts: [await read("ca", "ca.pem")],
      certChain: await read("cert", "client.pem"),
      privateKey: await read("key", "client.key"),
      serverName: flag(Deno.args, "server-name", "localhost"),
    },
  },
);
await callMul(xclient, { timeout: 5000 });
