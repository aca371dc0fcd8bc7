// Head-to-head with Go rpcx on this machine, loopback, one process per side: the matrix
// {1, 100, 1000 in flight} × {no S, 1 KiB S, 16 KiB S}. Every client is an XClient over
// Peer2Peer (Failfast, RandomSelect, MsgPack) calling Bench.Mul with {A, B, S}, S echoed back
// (Go: `rpcxpeer bench-xclient`, tests/interop/go/bench_xclient.go; Deno: bench/xclient_load.ts).
// Per cell and run:
//   Go XClient → Go server         (the baseline)
//   Deno XClient → Go server       (ratio = Deno calls/s ÷ Go calls/s, same run)
//   Deno plain Client → Go server  (what the XClient layer costs)
//   Go XClient → Deno server       (our server under Go's client)
//   Node/Bun XClient → Go server, Go XClient → Node/Bun server   (the same, from the npm package:
//       bench/xclient_load.ts and bench/runtime_server.ts compiled beside it, `deno task
//       build:npm` + `npm install` into a temporary project; skipped when node/bun is missing)
// and, with --grpc, @grpc/grpc-js server + client (same message, same in-flight levels) under
// Node and under Deno (bench/grpc/). Needs .cache/bin/rpcxpeer (.ci/install/50-gopeer.sh).
// Every server's CPU time per call under Go's client is read from /proc/<pid>/stat around its run.
//   deno run -A bench/head_to_head.ts [--runs 3] [--seconds 3] [--inflight 1,100,1000]
//                                     [--s 0,1024,16384] [--grpc] [--json out.json]
//                                     [--network tcp|tls|unix|http|ws|wss]
//                                     [--runtimes deno,node,bun]
// --network runs the whole matrix over that network on both sides (tls: tcp with TLS, wss: ws
// with TLS; certificates made with openssl for the run; unix: sockets in a temporary folder).
import { join } from "node:path";
import { flag } from "../examples/arith.ts";
import { makeTestCerts } from "../tests/support/certs.ts";
import { installPackage } from "../tests/support/npm_package.ts";
import { bunBinary, nodeBinary } from "../tests/support/runtimes.ts";
import { emitJs } from "../tools/_npm.ts";
import { type LoadResult, runJson, type ServerProcess, startServer } from "./_process.ts";

/** A load generator's result, with the server's CPU time per call where it was read. */
type Result = LoadResult & { server_cpu_us_per_call?: number };

const root = new URL("../", import.meta.url).pathname;
const peer = Deno.env.get("RPCXPEER") ?? `${root}.cache/bin/rpcxpeer`;
const runs = Number(flag(Deno.args, "runs", "3"));
const seconds = flag(Deno.args, "seconds", "3");
const levels = flag(Deno.args, "inflight", "1,100,1000").split(",").map(Number);
const sizes = flag(Deno.args, "s", "0,1024,16384").split(",").map(Number);
const withGrpc = Deno.args.includes("--grpc");
const jsonOut = flag(Deno.args, "json", "");
const networkName = flag(Deno.args, "network", "tcp");
const network = networkName === "tls" ? "tcp" : networkName;
const certs = networkName === "tls" || networkName === "wss" ? await makeTestCerts() : undefined;
const serverTls = certs
  ? ["--tls-cert", certs.server.certPath, "--tls-key", certs.server.keyPath]
  : [];
const clientTls = certs ? [`--tls-ca=${certs.caPath}`] : [];
const sockDir = network === "unix" ? await Deno.makeTempDir({ prefix: "rpcx-h2h-" }) : "";
const listenAt = (who: string) => network === "unix" ? `${sockDir}/${who}.sock` : "127.0.0.1:0";
const netArgs = [`--network=${network}`, ...clientTls];

/** Node and Bun as asked by --runtimes and found here: the command before a compiled script. */
const wanted = flag(Deno.args, "runtimes", "deno,node,bun").split(",");
const jsRuntimes: { name: "node" | "bun"; cmd: string }[] = [];
for (const [name, bin] of [["node", nodeBinary()], ["bun", bunBinary()]] as const) {
  if (!wanted.includes(name)) continue;
  if (bin) jsRuntimes.push({ name, cmd: bin });
  else console.error(`${name} not found: its rows are left out`);
}
/** The npm package installed into a temporary project, the bench scripts compiled beside it. */
const project = jsRuntimes.length > 0 ? await installPackage() : "";
if (project) await emitJs(["bench/xclient_load.ts", "bench/runtime_server.ts"], project);

/** CPU time (user + system) of process `pid` so far, ms (/proc, clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const f = Deno.readTextFileSync(`/proc/${pid}/stat`).split(") ")[1].split(" ");
  return (Number(f[11]) + Number(f[12])) * 10;
}

/**
 * Runs `load` (`warmup` calls, then the measured ones) against `server`, adding the server's CPU
 * time per call (the warmup's calls and time counted alike) to the result.
 */
async function measured(
  server: ServerProcess,
  warmup: number,
  load: () => Promise<Result>,
): Promise<Result> {
  const before = cpuMs(server.pid);
  const r = await load();
  const us = (cpuMs(server.pid) - before) * 1000 / (r.calls + warmup);
  return { ...r, server_cpu_us_per_call: us };
}

async function runLoad(cmd: string, args: string[]): Promise<Result> {
  const r = await runJson<Result>(cmd, args);
  if (!r) throw new Error(`${cmd} ${args.join(" ")} printed no result`);
  if (r.errors > 0) console.error(`${cmd} ${args.join(" ")}: ${r.errors} errors: ${r.first_error}`);
  return r;
}

const warmupFor = (inflight: number) => String(Math.max(2000, inflight * 4));
const goClient = (addr: string, inflight: number, s: number) =>
  runLoad(peer, [
    "bench-xclient",
    `--addr=${addr}`,
    `--inflight=${inflight}`,
    `--s=${s}`,
    `--max-seconds=${seconds}`,
    "--total=1000000000",
    `--warmup=${warmupFor(inflight)}`,
    ...netArgs,
  ]);
const denoClient = (addr: string, inflight: number, s: number, kind: "xclient" | "plain") =>
  runLoad(Deno.execPath(), [
    "run",
    "-A",
    `${root}bench/xclient_load.ts`,
    `--addr=${addr}`,
    `--inflight=${inflight}`,
    `--s=${s}`,
    `--seconds=${seconds}`,
    `--warmup=${warmupFor(inflight)}`,
    `--client=${kind}`,
    ...netArgs,
  ]);

/** Our XClient under Node or Bun (bench/xclient_load.ts compiled beside the npm package). */
const jsClient = (cmd: string, addr: string, inflight: number, s: number) =>
  runLoad(cmd, [
    join(project, "bench/xclient_load.js"),
    `--addr=${addr}`,
    `--inflight=${inflight}`,
    `--s=${s}`,
    `--seconds=${seconds}`,
    `--warmup=${warmupFor(inflight)}`,
    ...netArgs,
  ]);

type Row =
  | "goGo"
  | "denoGo"
  | "plainGo"
  | "goDeno"
  | "nodeGo"
  | "goNode"
  | "bunGo"
  | "goBun"
  | "grpcNode"
  | "grpcDeno";
const rows: Row[] = [
  "goGo",
  "denoGo",
  "plainGo",
  "goDeno",
  ...jsRuntimes.flatMap((rt) => [`${rt.name}Go`, `go${rt.name === "node" ? "Node" : "Bun"}`]),
  ...(withGrpc ? ["grpcNode", "grpcDeno"] : []),
] as Row[];
const results: Record<string, Record<Row, Result[]>> = {};

const goServer = await startServer(peer, [
  "server",
  "--addr",
  listenAt("go"),
  "--no-gateway",
  "--network",
  network,
  ...serverTls,
]);
const denoServer = await startServer(Deno.execPath(), [
  "run",
  "-A",
  `${root}bench/e2e_server.ts`,
  "--addr",
  listenAt("deno"),
  "--network",
  network,
  ...serverTls,
]);
const jsServers = new Map<string, ServerProcess>();
for (const rt of jsRuntimes) {
  jsServers.set(
    rt.name,
    await startServer(rt.cmd, [
      join(project, "bench/runtime_server.js"),
      "--addr",
      listenAt(rt.name),
      "--network",
      network,
      ...serverTls,
    ]),
  );
}
const grpc = withGrpc ? await import("./grpc/run.ts") : undefined;
try {
  for (const inflight of levels) {
    for (const s of sizes) {
      const cell = `${inflight}/${s}`;
      const r = results[cell] = Object.fromEntries(rows.map((k) => [k, []])) as unknown as Record<
        Row,
        Result[]
      >;
      for (let i = 0; i < runs; i++) {
        // Interleaved, so machine noise hits every row alike; the two clients against the Go
        // server take turns going first (the first client of a cell meets a server that has
        // not yet sized itself for the cell's messages).
        const warmup = Number(warmupFor(inflight));
        const onGo = (load: () => Promise<Result>) => measured(goServer, warmup, load);
        const go = () => onGo(() => goClient(goServer.addr, inflight, s));
        const deno = () => onGo(() => denoClient(goServer.addr, inflight, s, "xclient"));
        if (i % 2 === 0) {
          r.goGo.push(await go());
          r.denoGo.push(await deno());
        } else {
          r.denoGo.push(await deno());
          r.goGo.push(await go());
        }
        r.plainGo.push(await onGo(() => denoClient(goServer.addr, inflight, s, "plain")));
        r.goDeno.push(
          await measured(denoServer, warmup, () => goClient(denoServer.addr, inflight, s)),
        );
        // Node and Bun: each runtime's XClient against Go's server, Go's against its server.
        for (const rt of jsRuntimes) {
          const server = jsServers.get(rt.name)!;
          const [toGo, fromGo] = rt.name === "node"
            ? ["nodeGo", "goNode"] as const
            : ["bunGo", "goBun"] as const;
          r[toGo].push(await onGo(() => jsClient(rt.cmd, goServer.addr, inflight, s)));
          r[fromGo].push(
            await measured(server, warmup, () => goClient(server.addr, inflight, s)),
          );
        }
        if (grpc) {
          r.grpcNode.push(await grpc.runGrpc("node", inflight, s, Number(seconds)));
          r.grpcDeno.push(await grpc.runGrpc("deno", inflight, s, Number(seconds)));
        }
      }
      console.error(`done ${cell}`);
    }
  }
} finally {
  await goServer.stop();
  await denoServer.stop();
  for (const server of jsServers.values()) await server.stop();
  await certs?.remove();
  if (sockDir) await Deno.remove(sockDir, { recursive: true });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ratios = (a: Result[], b: Result[]) => a.map((x, i) => x.calls_per_sec / b[i].calls_per_sec);
const range = (xs: number[]) => {
  const lo = Math.min(...xs).toFixed(2);
  const hi = Math.max(...xs).toFixed(2);
  return lo === hi ? lo : `${lo}–${hi}`;
};
const k = (n: number) => n >= 10_000 ? `${(n / 1000).toFixed(1)} k` : `${Math.round(n)}`;
const lat = (rs: Result[]) =>
  `${median(rs.map((x) => x.p50_us))} / ${median(rs.map((x) => x.p99_us))}`;
// CPU per call of the client process (steadier than calls/s on a shared machine).
const cpuPerCall = (rs: Result[]) =>
  rs.every((x) => x.cpu_us_per_call) ? median(rs.map((x) => x.cpu_us_per_call!)).toFixed(0) : "–";

const cpu = (await Deno.readTextFile("/proc/cpuinfo")).match(/model name\s*:\s*(.*)/)?.[1];
const load = (await Deno.readTextFile("/proc/loadavg")).split(" ").slice(0, 3).join(" ");
console.log(
  `machine: ${navigator.hardwareConcurrency} cores, ${cpu}; load average at the end ${load}; ` +
    `${runs} runs × ${seconds} s per row and cell; network ${networkName}; Deno ${Deno.version.deno}`,
);
console.log();
console.log(
  "| in flight | S | Go→Go calls/s (p50/p99 µs) | Deno XClient→Go calls/s (p50/p99 µs) | Deno/Go | Deno Client→Go | XClient/Client | client CPU µs/call: Go XClient / Deno XClient / Deno Client | Go→Deno server ÷ Go→Go |" +
    (withGrpc ? " grpc-js Node | grpc-js Deno |" : ""),
);
console.log("|---|---|---|---|---|---|---|---|---|" + (withGrpc ? "---|---|" : ""));
for (const [cell, r] of Object.entries(results)) {
  const [inflight, s] = cell.split("/");
  const cols = [
    inflight,
    s === "0" ? "none" : `${Number(s) / 1024} KiB`,
    `${k(median(r.goGo.map((x) => x.calls_per_sec)))} (${lat(r.goGo)})`,
    `${k(median(r.denoGo.map((x) => x.calls_per_sec)))} (${lat(r.denoGo)})`,
    range(ratios(r.denoGo, r.goGo)),
    k(median(r.plainGo.map((x) => x.calls_per_sec))),
    range(ratios(r.denoGo, r.plainGo)),
    `${cpuPerCall(r.goGo)} / ${cpuPerCall(r.denoGo)} / ${cpuPerCall(r.plainGo)}`,
    range(ratios(r.goDeno, r.goGo)),
  ];
  if (withGrpc) {
    cols.push(`${k(median(r.grpcNode.map((x) => x.calls_per_sec)))} (${lat(r.grpcNode)})`);
    cols.push(`${k(median(r.grpcDeno.map((x) => x.calls_per_sec)))} (${lat(r.grpcDeno)})`);
  }
  console.log(`| ${cols.join(" | ")} |`);
}

// Runtimes: our XClient and our server under Deno, Node and Bun, each against Go's.
const present = ["deno", ...jsRuntimes.map((rt) => rt.name)] as const;
const toGo = { deno: "denoGo", node: "nodeGo", bun: "bunGo" } as const;
const fromGo = { deno: "goDeno", node: "goNode", bun: "goBun" } as const;
const versions = await Promise.all(jsRuntimes.map(async (rt) => {
  const out = await new Deno.Command(rt.cmd, { args: ["--version"], stdout: "piped" }).output();
  return `${rt.name} ${new TextDecoder().decode(out.stdout).trim()}`;
}));
const names = present.map((n) => n[0].toUpperCase() + n.slice(1)).join(" / ");
const calls = (rs: Result[]) => k(median(rs.map((x) => x.calls_per_sec)));
const medianRatio = (a: Result[], b: Result[]) => median(ratios(a, b)).toFixed(2);
const serverCpu = (rs: Result[]) =>
  rs.every((x) => x.server_cpu_us_per_call !== undefined)
    ? median(rs.map((x) => x.server_cpu_us_per_call!)).toFixed(0)
    : "–";
console.log();
console.log(
  `runtimes: Deno ${Deno.version.deno}, ${versions.join(", ")} (Node and Bun: the npm package)`,
);
console.log();
console.log(
  `| in flight | S | Go→Go calls/s | XClient→Go calls/s: ${names} | ÷ Go→Go | client CPU µs/call: Go / ${names} | Go→server calls/s: ${names} | ÷ Go→Go | server CPU µs/call: Go / ${names} |`,
);
console.log("|---|---|---|---|---|---|---|---|---|");
for (const [cell, r] of Object.entries(results)) {
  const [inflight, s] = cell.split("/");
  const each = (f: (rt: typeof present[number]) => string) => present.map(f).join(" / ");
  console.log(`| ${
    [
      inflight,
      s === "0" ? "none" : `${Number(s) / 1024} KiB`,
      calls(r.goGo),
      each((rt) => calls(r[toGo[rt]])),
      each((rt) => medianRatio(r[toGo[rt]], r.goGo)),
      `${cpuPerCall(r.goGo)} / ${each((rt) => cpuPerCall(r[toGo[rt]]))}`,
      each((rt) => calls(r[fromGo[rt]])),
      each((rt) => medianRatio(r[fromGo[rt]], r.goGo)),
      `${serverCpu(r.goGo)} / ${each((rt) => serverCpu(r[fromGo[rt]]))}`,
    ].join(" | ")
  } |`);
}
if (jsonOut) await Deno.writeTextFile(jsonOut, JSON.stringify(results, null, 1));
