// Deno's own sockets against node:net on Deno (issue 24: which socket stack the Deno adapter
// uses for plain tcp). Our server (bench/e2e_server.ts --sockets deno|node) is loaded by Go's
// client (`rpcxpeer bench`) and by ours (bench/e2e.ts --sockets deno|node, the client's sockets
// set the same way), with 1 and 100 calls in flight, over tcp. The two stacks alternate, round
// after round, so a machine whose load drifts weighs on both alike; the table gives each cell's
// median calls/s and p50 latency over the rounds.
//   deno run -A bench/sockets.ts [--rounds 3] [--total 20000] [--seconds 8] [--network tcp|unix]
//                                [--listener]
// --listener compares only the server's listening sockets (`serve` with `nodeSockets: true`, the
// default: node:net; `false`: Deno's own sockets); every client is unchanged (ours on Deno's
// sockets). Needs .cache/bin/rpcxpeer (.ci/install/50-gopeer.sh).
import { flag } from "../examples/arith.ts";
import { type LoadResult, runJson, startServer } from "./_process.ts";

const root = new URL("../", import.meta.url).pathname;
const peer = Deno.env.get("RPCXPEER") || `${root}.cache/bin/rpcxpeer`;
const rounds = Number(flag(Deno.args, "rounds", "3"));
const total = flag(Deno.args, "total", "20000");
const seconds = flag(Deno.args, "seconds", "8");
const network = flag(Deno.args, "network", "tcp");
const listenerOnly = Deno.args.includes("--listener");
const STACKS = ["deno", "node"] as const;
const LOADS = [
  { client: "go", inFlight: 1 },
  { client: "go", inFlight: 100 },
  { client: "ts", inFlight: 1 },
  { client: "ts", inFlight: 100 },
] as const;

const dir = await Deno.makeTempDir({ prefix: "rpcx-bench-sockets-" });
const results = new Map<string, LoadResult[]>();
const key = (stack: string, load: (typeof LOADS)[number]) =>
  `${load.client}|${load.inFlight}|${stack}`;
try {
  for (let round = 0; round < rounds; round++) {
    for (const stack of round % 2 ? [...STACKS].reverse() : STACKS) {
      const server = await startServer(Deno.execPath(), [
        "run",
        "-A",
        `${root}bench/e2e_server.ts`,
        "--network",
        network,
        ...(listenerOnly ? [`--${stack}-sockets`] : ["--sockets", stack]),
        "--addr",
        network === "unix" ? `${dir}/${stack}-${round}.sock` : "127.0.0.1:0",
      ], { stderr: "null", signal: "SIGKILL" });
      try {
        for (const load of LOADS) {
          const r = load.client === "go"
            ? await runJson<LoadResult>(peer, [
              "bench",
              "--network",
              network,
              "--addr",
              server.addr,
              "--total",
              total,
              "--max-seconds",
              seconds,
              "--concurrency",
              String(load.inFlight),
              "--pool",
              load.inFlight === 1 ? "1" : "10",
            ])
            : await runJson<LoadResult>(Deno.execPath(), [
              "run",
              "-A",
              `${root}bench/e2e.ts`,
              "--network",
              network,
              "--sockets",
              listenerOnly ? "deno" : stack,
              "--addr",
              server.addr,
              "--total",
              total,
              "--seconds",
              seconds,
              "--concurrency",
              String(load.inFlight),
            ]);
          if (!r) throw new Error(`${key(stack, load)}: no result`);
          const list = results.get(key(stack, load)) ?? [];
          list.push(r);
          results.set(key(stack, load), list);
          console.error(
            `round ${round + 1} ${
              key(stack, load)
            }: ${r.calls_per_sec} calls/s, p50 ${r.p50_us} µs` +
              (r.errors ? `, ${r.errors} errors (${r.first_error ?? ""})` : ""),
          );
          if (r.errors) throw new Error(`${key(stack, load)}: ${r.errors} calls failed`);
        }
      } finally {
        await server.stop();
      }
    }
  }
} finally {
  await Deno.remove(dir, { recursive: true });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const load = (await Deno.readTextFile("/proc/loadavg")).split(" ").slice(0, 3).join(" ");
console.log(
  `${rounds} rounds × ${seconds} s, ${navigator.hardwareConcurrency} cores, load average at the end ${load}; ` +
    (listenerOnly
      ? "the server's listener only (HTTP off: Deno sockets; on: node:net)"
      : "both sides"),
);
console.log(
  `| client, in flight (${network}) | Deno sockets: calls/s, p50 µs | node:net on Deno: calls/s, p50 µs | node / Deno |`,
);
console.log("| --- | --- | --- | --- |");
for (const load of LOADS) {
  const [d, n] = STACKS.map((s) => results.get(key(s, load))!);
  const dc = median(d.map((r) => r.calls_per_sec)), nc = median(n.map((r) => r.calls_per_sec));
  const dp = median(d.map((r) => r.p50_us)), np = median(n.map((r) => r.p50_us));
  console.log(
    `| ${load.client === "go" ? "Go" : "ours"}, ${load.inFlight} | ${dc}, ${dp} | ${nc}, ${np} | ${
      (nc / dc).toFixed(2)
    } |`,
  );
}
