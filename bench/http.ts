// HTTP on the rpcx port, Go rpcx's server against ours, in one run: the Go peer's load generator
// (`rpcxpeer http-bench`, net/http keep-alive connections, one per caller) calls Arith.Mul
// {A:10,B:20} in JSON by HTTP invoke (X-RPCX headers) and by JSON-RPC 2.0, against
// `rpcxpeer server` and against bench/e2e_server.ts (each in its own process), and prints
// calls/s and latency per side. Needs .cache/bin/rpcxpeer (RPCXPEER overrides).
//   deno run -A bench/http.ts [--runs 3] [--total 20000] [--concurrency 50] [--seconds 20]
import { flag } from "../examples/arith.ts";
import { type LoadResult as Result, runJson, type ServerProcess, startServer } from "./_process.ts";

const root = new URL("../", import.meta.url).pathname;
const peer = Deno.env.get("RPCXPEER") ?? `${root}.cache/bin/rpcxpeer`;
const runs = Number(flag(Deno.args, "runs", "3"));
const total = flag(Deno.args, "total", "20000");
const concurrency = flag(Deno.args, "concurrency", "50");
const seconds = flag(Deno.args, "seconds", "20");

async function load(addr: string, mode: string): Promise<Result> {
  const res = await runJson<Result>(peer, [
    "http-bench",
    "--addr",
    addr,
    "--mode",
    mode,
    "--total",
    total,
    "--concurrency",
    concurrency,
    "--max-seconds",
    `${seconds}s`,
  ]);
  if (!res) throw new Error(`${peer} http-bench --mode ${mode} printed no result`);
  return res;
}

const sides: [string, () => Promise<ServerProcess>][] = [
  ["Go rpcx server", () => startServer(peer, ["server", "--addr", "127.0.0.1:0"])],
  [
    "@rpcx/core server",
    () => startServer(Deno.execPath(), ["run", "-A", `${root}bench/e2e_server.ts`]),
  ],
];
const rows: string[] = [];
for (const mode of ["invoke", "jsonrpc"]) {
  const best = new Map<string, Result>();
  for (let r = 0; r < runs; r++) {
    for (const [name, start] of sides) {
      const server = await start();
      try {
        const res = await load(server.addr, mode);
        if (res.errors > 0) throw new Error(`${name} ${mode}: ${res.first_error}`);
        const prev = best.get(name);
        if (!prev || res.calls_per_sec > prev.calls_per_sec) best.set(name, res);
      } finally {
        await server.stop();
      }
    }
  }
  const go = best.get("Go rpcx server")!;
  for (const [name] of sides) {
    const r = best.get(name)!;
    rows.push(
      `| ${mode === "invoke" ? "HTTP invoke" : "JSON-RPC 2.0"} | ${name} | ${
        Math.round(r.calls_per_sec)
      } | ${r.p50_us} | ${r.p99_us} | ${(r.calls_per_sec / go.calls_per_sec).toFixed(2)} |`,
    );
  }
}
console.log(
  `Arith.Mul in JSON, ${concurrency} keep-alive callers (Go net/http), ${total} calls, best of ${runs}`,
);
console.log("| protocol | server | calls/s | p50 µs | p99 µs | ÷ Go |");
console.log("| --- | --- | ---: | ---: | ---: | ---: |");
for (const row of rows) console.log(row);
