// Finds Arith servers as the addresses (A/AAAA) of a DNS name, all serving on --port, and calls
// Arith.Mul {A:10, B:20} --count times, once a second (Go: client.NewDNSDiscovery). Without
// --nameserver the system's resolver answers (hosts file, then /etc/resolv.conf); --srv reads
// the SRV records of --name (`_rpcx._tcp.arith.default.svc.cluster.local`) instead.
//   deno run -A examples/dns/client.ts --name arith.default.svc.cluster.local --port 8972 --count 3
//   deno run -A examples/dns/client.ts --name arith.test --port 8972 --nameserver 127.0.0.53:53
import { FailMode, SelectMode, XClient } from "@rpcx/core";
import { DnsDiscovery } from "@rpcx/core/dns";
import { callMul, flag } from "../arith.ts";

const name = flag(Deno.args, "name", "localhost");
const port = Number(flag(Deno.args, "port", "8972"));
const nameserver = flag(Deno.args, "nameserver", "");
const count = Number(flag(Deno.args, "count", "1"));
const srv = Deno.args.includes("--srv");
const discovery = new DnsDiscovery(name, "tcp", srv ? 0 : port, 10_000, {
  srv,
  nameserver: nameserver ? nameserver.split(",") : undefined,
});
const xclient = new XClient("Arith", FailMode.Failover, SelectMode.RoundRobin, discovery);
await callMul(xclient, { count, intervalMs: 1000, timeout: 5000 });
await discovery.close();
