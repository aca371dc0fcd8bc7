// Calls Arith.Mul {A:10, B:20} with tracing on, prints the reply and `trace <trace id>`; run
// against examples/plugins/tracing/server.ts (or a Go server with rpcx-plugins' otel plugin)
// and the server's span carries the same trace id.
//   deno run -A examples/plugins/tracing/client.ts --addr localhost:8972
import { FailMode, Peer2PeerDiscovery, SelectMode, XClient } from "@rpcx/core";
import { clientTracing } from "@rpcx/core/plugins/tracing";
import { callMul, flag } from "../../arith.ts";
import { exampleTracing } from "./otel.ts";

const addr = flag(Deno.args, "addr", "localhost:8972");
const { options, finished } = exampleTracing(false);
const xclient = new XClient(
  "Arith",
  FailMode.Failfast,
  SelectMode.RandomSelect,
  new Peer2PeerDiscovery(`tcp@${addr}`),
  { plugins: [clientTracing(options)] },
);
await callMul(xclient, { timeout: 5000 });
const span = finished().find((s) => s.name === "rpcx.client.Arith.Mul");
if (span) console.log(`trace ${span.spanContext().traceId}`);
