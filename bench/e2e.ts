// End-to-end throughput over loopback: one Deno client, many calls in flight, against a server
// in another process (our Deno server by default, or any rpcx server given with --addr).
//   deno run -A bench/e2e.ts [--addr host:port] [--total 200000] [--concurrency 100]
//                            [--seconds 60] [--serializer msgpack|json]
//                            [--plugins none|noop|tracing|metrics[,..]] (both sides; see _plugins.ts)
//                            [--network tcp|unix|http|ws|wss] [--tls-ca ca.pem]
//                            [--tls-cert cert.pem --tls-key key.pem]  (for the server it starts)
//                            [--sockets deno|node]  (the runtime adapter whose sockets both sides
//                            use: Deno's own, default, or node:net/node:tls on Deno's Node layer)
// Prints one JSON line: calls, errors, seconds, calls_per_sec, p50_us, p99_us.
import { Client, CompressType, SerializeType } from "@rpcx/core";
import { flag } from "../examples/arith.ts";
import { benchClientPlugins } from "./_plugins.ts";
import { benchArgs } from "./_services.ts";
import { nodeRuntime, setRuntime } from "../src/runtime/mod.ts";

const total = Number(flag(Deno.args, "total", "200000"));
const concurrency = Number(flag(Deno.args, "concurrency", "100"));
const maxSeconds = Number(flag(Deno.args, "seconds", "60"));
const serializeType = flag(Deno.args, "serializer", "msgpack") === "json"
  ? SerializeType.JSON
  : SerializeType.MsgPack;
const codec = flag(Deno.args, "codec", "auto") as "auto" | "ts" | "native";
const gzip = Deno.args.includes("--gzip");
const plugins = flag(Deno.args, "plugins", "none");
const network = flag(Deno.args, "network", "tcp");
const tlsCa = flag(Deno.args, "tls-ca", "");
let addr = flag(Deno.args, "addr", "");
const sockets = flag(Deno.args, "sockets", "deno");
if (sockets === "node") setRuntime(nodeRuntime);
let child: Deno.ChildProcess | undefined;
if (!addr) {
  const serverArgs = ["--network", network, "--sockets", sockets];
  for (const f of ["tls-cert", "tls-key"]) {
    const v = flag(Deno.args, f, "");
    if (v) serverArgs.push(`--${f}`, v);
  }
  if (network === "unix") {
    serverArgs.push("--addr", `${await Deno.makeTempDir({ prefix: "rpcx-e2e-" })}/e2e.sock`);
  }
  child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("./e2e_server.ts", import.meta.url).pathname,
      "--codec",
      codec,
      "--plugins",
      plugins,
      ...serverArgs,
    ],
    stdout: "piped",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) text += (await reader.read()).value ?? "";
  addr = text.match(/LISTENING (\S+)/)![1];
  reader.releaseLock();
}

const args = benchArgs(Number(flag(Deno.args, "data", "16")));
const client = new Client(`${network}@${addr}`, {
  tls: tlsCa ? { caCerts: [await Deno.readTextFile(tlsCa)] } : undefined,
  connectTimeout: 10_000,
  serializeType,
  wireCodec: codec,
  compressType: gzip ? CompressType.Gzip : CompressType.None,
  plugins: benchClientPlugins(plugins),
});
await client.call("Bench", "Echo", args);
const latencies = new Float64Array(total);
let next = 0;
let errors = 0;
const deadline = performance.now() + maxSeconds * 1000;
const start = performance.now();
async function worker() {
  while (next < total && performance.now() < deadline) {
    const i = next++;
    const t0 = performance.now();
    try {
      await client.call("Bench", "Echo", args);
    } catch {
      errors++;
    }
    latencies[i] = performance.now() - t0;
  }
}
await Promise.all(Array.from({ length: concurrency }, worker));
const seconds = (performance.now() - start) / 1000;
const done = latencies.slice(0, next).sort();
const pct = (p: number) =>
  Math.round(done[Math.min(done.length - 1, Math.floor(done.length * p))] * 1000);
console.log(JSON.stringify({
  client: "deno",
  network,
  tls: Boolean(tlsCa),
  codec,
  gzip,
  plugins,
  sockets,
  server: child ? "deno" : addr,
  calls: next,
  errors,
  seconds: Number(seconds.toFixed(3)),
  calls_per_sec: Math.round(next / seconds),
  p50_us: pct(0.5),
  p99_us: pct(0.99),
}));
await client.close();
if (child) {
  child.kill("SIGTERM");
  await child.status;
}
