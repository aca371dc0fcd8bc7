// Calls Arith.Mul {A:10, B:20} on one server found by Peer2Peer discovery.
//   deno run -A examples/peer2peer/client.ts --addr localhost:8972
//   deno run -A examples/peer2peer/client.ts --network unix --addr /tmp/arith.sock
//   deno run -A examples/peer2peer/client.ts --network wss --tls-ca ca.pem
// --network: tcp (default), unix, http, ws, wss. --tls-ca: trust this CA (enables TLS on tcp/http).
import { FailMode, Peer2PeerDiscovery, SelectMode, XClient } from "@rpcx/core";
import { callMul, flag } from "../arith.ts";

const network = flag(Deno.args, "network", "tcp");
const addr = flag(Deno.args, "addr", "localhost:8972");
const ca = flag(Deno.args, "tls-ca", "");
const xclient = new XClient(
  "Arith",
  FailMode.Failtry,
  SelectMode.RandomSelect,
  new Peer2PeerDiscovery(`${network}@${addr}`),
  ca ? { tls: { caCerts: [await Deno.readTextFile(ca)] } } : {},
);
await callMul(xclient, { timeout: 5000 });
