// Serves Arith on --addr and its Prometheus metrics on http://<metrics-addr>/metrics.
//   deno run -A examples/plugins/metrics/server.ts --addr localhost:8972 --metrics-addr localhost:9100
import { Server } from "@rpcx/core";
import { serveMetrics, serverMetrics } from "@rpcx/core/plugins/metrics";
import { Arith, flag } from "../../arith.ts";

const addr = flag(Deno.args, "addr", "localhost:8972");
const metricsAddr = flag(Deno.args, "metrics-addr", "localhost:9100");
const metrics = serverMetrics();
const server = new Server({ plugins: [metrics] });
await server.register(new Arith(), "Arith");
const at = metricsAddr.lastIndexOf(":");
const endpoint = await serveMetrics(metrics.registry, {
  hostname: metricsAddr.slice(0, at).replace(/^\[|\]$/g, ""),
  port: Number(metricsAddr.slice(at + 1)),
});
server.shutdownOnSignals();
console.log(`metrics on http://${endpoint.addr}/metrics`);
console.log(`listening on ${await server.serve("tcp", addr)}`);
