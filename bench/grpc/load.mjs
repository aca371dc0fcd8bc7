// grpc-js rows of bench/head_to_head.ts: a @grpc/grpc-js server and client in one process
// each (this script runs both as child processes of itself), unary Bench.Mul with {A, B, S},
// --inflight loops, --seconds long. Runs under Node and under Deno alike:
//   node bench/grpc/load.mjs --inflight 100 --s 0 --seconds 3
//   deno run -A bench/grpc/load.mjs --inflight 100 --s 0 --seconds 3
// Prints one JSON line: calls, errors, calls_per_sec, p50_us, p99_us.
import { spawn } from "node:child_process";
import process from "node:process";
import { fileURLToPath } from "node:url";
// Node resolves the packages from bench/grpc/node_modules (npm install); Deno from npm: itself.
// (Computed specifiers, so `deno check bench/` does not try to resolve Node's bare names.)
const isDeno = typeof Deno !== "undefined";
const pkg = (name, version) => isDeno ? `npm:${name}@${version}` : name;
const grpc = (await import(pkg("@grpc/grpc-js", "1.14.7"))).default;
const protoLoader = (await import(pkg("@grpc/proto-loader", "0.8.1"))).default;

const here = fileURLToPath(new URL(".", import.meta.url));
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const def = protoLoader.loadSync(`${here}bench.proto`, { longs: Number, defaults: true });
const Bench = grpc.loadPackageDefinition(def).bench.Bench;

if (process.argv.includes("--serve")) {
  const server = new grpc.Server();
  server.addService(Bench.service, {
    Mul: (call, cb) => cb(null, { C: call.request.A * call.request.B, S: call.request.S }),
  });
  server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, port) => {
    if (err) throw err;
    console.log(`LISTENING 127.0.0.1:${port}`);
  });
  process.on("SIGTERM", () => server.tryShutdown(() => process.exit(0)));
} else {
  const inflight = Number(arg("inflight", "100"));
  const sBytes = Number(arg("s", "0"));
  const seconds = Number(arg("seconds", "3"));
  const warmup = Number(arg("warmup", "2000"));
  // The server: this script again, under the same runtime.
  const child = spawn(process.execPath, [...process.execArgv, ...serveArgs(), "--serve"], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const addr = await new Promise((resolve, reject) => {
    let text = "";
    child.stdout.on("data", (d) => {
      text += d;
      const m = text.match(/LISTENING (\S+)/);
      if (m) resolve(m[1]);
    });
    child.on("exit", (code) => reject(new Error(`grpc server exited ${code}: ${text}`)));
  });
  const client = new Bench(addr, grpc.credentials.createInsecure());
  const S = "s".repeat(sBytes);
  const mul = (args) =>
    new Promise((resolve, reject) =>
      client.Mul(args, (err, reply) => (err ? reject(err) : resolve(reply)))
    );
  for (let i = 0; i < warmup; i++) await mul({ A: i, B: 7, S });
  const latencies = [];
  let next = 0;
  let errors = 0;
  let stop = false;
  const timer = setTimeout(() => (stop = true), seconds * 1000);
  const start = performance.now();
  const loop = async () => {
    while (!stop) {
      const i = next++;
      const t0 = performance.now();
      try {
        const r = await mul({ A: i, B: 7, S });
        if (r.C !== i * 7 || r.S.length !== sBytes) throw new Error("wrong reply");
      } catch {
        errors++;
      }
      latencies.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: inflight }, loop));
  const elapsed = (performance.now() - start) / 1000;
  clearTimeout(timer);
  latencies.sort((a, b) => a - b);
  const pct = (p) =>
    Math.round(latencies[Math.max(0, Math.round(latencies.length * p) - 1)] * 1000);
  console.log(JSON.stringify({
    client: `grpc-js-${isDeno ? "deno" : "node"}`,
    calls: next,
    errors,
    seconds: Number(elapsed.toFixed(3)),
    calls_per_sec: Math.round(next / elapsed),
    p50_us: pct(0.5),
    p99_us: pct(0.99),
    inflight,
    s_bytes: sBytes,
  }));
  client.close();
  child.kill("SIGTERM");
}

/** The arguments that start this script as the server under the current runtime. */
function serveArgs() {
  const script = fileURLToPath(import.meta.url);
  return typeof Deno === "undefined"
    ? [script]
    : ["run", "-A", "--node-modules-dir=manual", script];
}
