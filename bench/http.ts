// HTTP on the rpcx port, Go rpcx's server against ours, side by side in one run: the Go peer's
// load generator (`rpcxpeer http-bench`: Go's net/http client, one keep-alive connection per
// caller, all opened by its untimed warm-up) calls Arith.Mul {A:10,B:20} in JSON by HTTP invoke (X-RPCX headers) and by JSON-RPC
// 2.0, at each level of callers in flight, against `rpcxpeer server` and bench/e2e_server.ts,
// each in its own process for the whole run. Rounds alternate the servers' order; the table gives
// medians of calls/s and p50/p99 latency, the range of the per-round ratios ours ÷ Go's, and
// each server's CPU time per call (user + system from /proc, steadier than calls/s on a shared
// machine). Needs .cache/bin/rpcxpeer (RPCXPEER overrides).
//   deno run -A bench/http.ts [--rounds 3] [--seconds 3] [--inflight 1,100,1000]
//                             [--modes invoke,jsonrpc] [--mixed]
//                             [--compare label=/path/to/other/checkout ...]
//                             [--runtimes node,bun]
// --compare adds the e2e_server.ts of another checkout of this repository (e.g. `git archive
// main | tar -x -C /tmp/before`) as one more server: before/after in the same run
// (`label=dir,NAME=value,--flag,...`: environment variables and e2e_server.ts flags for it, e.g.
// `--compare deno-sockets=.,--deno-sockets`).
// --runtimes adds our server under Node and Bun (bench/runtime_server.ts compiled beside the npm
// package, `deno task build:npm` + `npm install` into a temporary project, as head_to_head.ts
// does; a runtime not installed is left out): node:http gets a node:net socket there.
// --mixed adds, per level, HTTP invoke and rpcx frames (`rpcxpeer bench`, the same callers in
// flight over 10 connections) run at the same time against the same port, each rate ÷ its rate
// alone.
import { flag } from "../examples/arith.ts";
import { type LoadResult, runJson, type ServerProcess, startServer } from "./_process.ts";
import { join } from "node:path";
import { installPackage } from "../tests/support/npm_package.ts";
import { bunBinary, nodeBinary } from "../tests/support/runtimes.ts";
import { emitJs } from "../tools/_npm.ts";

const root = new URL("../", import.meta.url).pathname;
const peer = Deno.env.get("RPCXPEER") ?? `${root}.cache/bin/rpcxpeer`;
const rounds = Number(flag(Deno.args, "rounds", "3"));
const seconds = flag(Deno.args, "seconds", "3");
const levels = flag(Deno.args, "inflight", "1,100,1000").split(",").map(Number);
const modes = flag(Deno.args, "modes", "invoke,jsonrpc").split(",");
const mixed = Deno.args.includes("--mixed");
const compare: [string, string, string[]][] = [];
for (let i = 0; i < Deno.args.length - 1; i++) {
  if (Deno.args[i] !== "--compare") continue;
  const [label, rest] = Deno.args[i + 1].split(/=(.*)/s);
  const [dir, ...env] = rest.split(",");
  compare.push([label, dir.replace(/\/?$/, "/"), env]);
}

/** A server of the run: its label and how to start it. */
interface Side {
  label: string;
  start: () => Promise<ServerProcess>;
}
const deno = (dir: string, extra: string[] = []) => async () => {
  const args = extra.filter((e) => e.startsWith("--"));
  const env = extra.filter((e) => !e.startsWith("--"));
  // The child inherits the environment as it is when it starts.
  const saved = env.map((e) => e.split("=")).map(([k, v]) => [k, Deno.env.get(k), v] as const);
  for (const [k, , v] of saved) Deno.env.set(k, v);
  try {
    return await startServer(Deno.execPath(), ["run", "-A", `${dir}bench/e2e_server.ts`, ...args], {
      stderr: "null",
    });
  } finally {
    for (const [k, old] of saved) old === undefined ? Deno.env.delete(k) : Deno.env.set(k, old);
  }
};
/** Node and Bun as asked by --runtimes and found here. */
const jsRuntimes: { name: string; cmd: string }[] = [];
for (const name of flag(Deno.args, "runtimes", "").split(",").filter((n) => n)) {
  const bin = name === "node" ? nodeBinary() : name === "bun" ? bunBinary() : undefined;
  if (bin) jsRuntimes.push({ name, cmd: bin });
  else console.error(`${name} not found: its rows are left out`);
}
const project = jsRuntimes.length > 0 ? await installPackage() : "";
if (project) await emitJs(["bench/runtime_server.ts"], project);

const sides: Side[] = [
  {
    label: "Go",
    start: () => startServer(peer, ["server", "--addr", "127.0.0.1:0"], { stderr: "null" }),
  },
  { label: "ours", start: deno(root) },
  ...compare.map(([label, dir, env]) => ({ label, start: deno(dir, env) })),
  ...jsRuntimes.map((rt) => ({
    label: rt.name,
    start: () =>
      startServer(rt.cmd, [join(project, "bench/runtime_server.js"), "--addr", "127.0.0.1:0"], {
        stderr: "null",
      }),
  })),
];

/** CPU time (user + system) of process `pid` so far, ms. */
function cpuMs(pid: number): number {
  const f = Deno.readTextFileSync(`/proc/${pid}/stat`).split(") ")[1].split(" ");
  return (Number(f[11]) + Number(f[12])) * 10; // clock ticks of 10 ms
}

interface Sample extends LoadResult {
  /** The server's CPU time per call, µs. */
  server_cpu_us: number;
}

const warmup = (inflight: number) => String(Math.max(2000, inflight * 4));

async function httpLoad(s: ServerProcess, mode: string, inflight: number): Promise<Sample> {
  const cpu0 = cpuMs(s.pid);
  const r = await runJson<LoadResult>(peer, [
    "http-bench",
    "--addr",
    s.addr,
    "--mode",
    mode,
    "--concurrency",
    String(inflight),
    "--total",
    "1000000000",
    "--warmup",
    warmup(inflight),
    "--max-seconds",
    `${seconds}s`,
  ]);
  if (!r) throw new Error(`http-bench --mode ${mode} printed no result`);
  if (r.errors > 0) console.error(`${mode} ${inflight}: ${r.errors} errors: ${r.first_error}`);
  const calls = r.calls + Number(warmup(inflight));
  return { ...r, server_cpu_us: ((cpuMs(s.pid) - cpu0) * 1000) / calls };
}

function rpcxLoad(s: ServerProcess, inflight: number): Promise<LoadResult | undefined> {
  return runJson<LoadResult>(peer, [
    "bench",
    "--addr",
    s.addr,
    "--total",
    "1000000000",
    "--max-seconds",
    seconds,
    "--concurrency",
    String(inflight),
    "--pool",
    inflight === 1 ? "1" : "10",
  ]);
}

const results = new Map<string, Sample[]>();
const mixedResults = new Map<string, number[]>();
const put = <T>(m: Map<string, T[]>, k: string, v: T) => m.set(k, [...(m.get(k) ?? []), v]);
const running: ServerProcess[] = [];
try {
  for (const side of sides) running.push(await side.start());
  for (let round = 0; round < rounds; round++) {
    // Each round starts with another server, so drift in the machine's load weighs on all.
    const order = sides.map((_, i) => (i + round) % sides.length);
    for (const mode of modes) {
      for (const inflight of levels) {
        for (const i of order) {
          const r = await httpLoad(running[i], mode, inflight);
          put(results, `${mode}|${inflight}|${sides[i].label}`, r);
          console.error(
            `round ${round + 1} ${mode} ${inflight} ${sides[i].label}: ${
              Math.round(r.calls_per_sec)
            } calls/s, p50 ${r.p50_us} µs, p99 ${r.p99_us} µs, server ${
              r.server_cpu_us.toFixed(0)
            } µs CPU/call`,
          );
        }
      }
    }
    if (!mixed) continue;
    for (const inflight of levels) {
      for (const i of order) {
        const s = running[i];
        const [http, rpcx] = await Promise.all([
          httpLoad(s, "invoke", inflight),
          rpcxLoad(s, inflight),
        ]);
        const httpAlone = await httpLoad(s, "invoke", inflight);
        const rpcxAlone = await rpcxLoad(s, inflight);
        const label = sides[i].label;
        put(
          mixedResults,
          `http|${inflight}|${label}`,
          http.calls_per_sec / httpAlone.calls_per_sec,
        );
        put(
          mixedResults,
          `rpcx|${inflight}|${label}`,
          (rpcx?.calls_per_sec ?? 0) / (rpcxAlone?.calls_per_sec ?? 1),
        );
        console.error(
          `round ${round + 1} mixed ${inflight} ${label}: HTTP ${Math.round(http.calls_per_sec)} ` +
            `(alone ${Math.round(httpAlone.calls_per_sec)}), rpcx ${
              Math.round(rpcx?.calls_per_sec ?? 0)
            } (alone ${Math.round(rpcxAlone?.calls_per_sec ?? 0)})`,
        );
      }
    }
  }
} finally {
  for (const s of running) await s.stop();
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const range = (xs: number[]) => {
  const lo = Math.min(...xs).toFixed(2), hi = Math.max(...xs).toFixed(2);
  return lo === hi ? lo : `${lo}–${hi}`;
};
const k = (n: number) => n >= 10_000 ? `${(n / 1000).toFixed(1)} k` : `${Math.round(n)}`;
const cpu = (await Deno.readTextFile("/proc/cpuinfo")).match(/model name\s*:\s*(.*)/)?.[1];
const load = (await Deno.readTextFile("/proc/loadavg")).split(" ").slice(0, 3).join(" ");
console.log(
  `machine ${Deno.hostname()}: ${navigator.hardwareConcurrency} cores, ${cpu}; load average at the ` +
    `end ${load}; ${rounds} rounds × ${seconds} s per cell; Deno ${Deno.version.deno}`,
);
console.log();
const others = sides.slice(1).map((s) => s.label);
console.log(
  `| protocol | in flight | Go calls/s (p50/p99 µs) | ${
    others.map((l) => `${l} calls/s (p50/p99 µs) | ${l} ÷ Go`).join(" | ")
  } | server CPU µs/call: ${sides.map((s) => s.label).join(" / ")} |`,
);
console.log(`|---|---|---|${others.map(() => "---|---|").join("")}---|`);
for (const mode of modes) {
  for (const inflight of levels) {
    const of = (label: string) => results.get(`${mode}|${inflight}|${label}`)!;
    const cell = (rs: Sample[]) =>
      `${k(median(rs.map((r) => r.calls_per_sec)))} (${median(rs.map((r) => r.p50_us))} / ${
        median(rs.map((r) => r.p99_us))
      })`;
    const go = of("Go");
    const cols = [mode === "invoke" ? "HTTP invoke" : "JSON-RPC 2.0", String(inflight), cell(go)];
    for (const l of others) {
      const rs = of(l);
      cols.push(cell(rs), range(rs.map((r, i) => r.calls_per_sec / go[i].calls_per_sec)));
    }
    cols.push(
      sides.map((s) => median(of(s.label).map((r) => r.server_cpu_us)).toFixed(0)).join(" / "),
    );
    console.log(`| ${cols.join(" | ")} |`);
  }
}
if (mixed) {
  console.log();
  console.log(
    "Mixed on one port (HTTP invoke and rpcx frames at once), each rate ÷ its rate alone:",
  );
  console.log(`| in flight | ${sides.map((s) => `${s.label}: HTTP / rpcx`).join(" | ")} |`);
  console.log(`|---|${sides.map(() => "---|").join("")}`);
  for (const inflight of levels) {
    const cols = sides.map((s) =>
      `${range(mixedResults.get(`http|${inflight}|${s.label}`)!)} / ${
        range(mixedResults.get(`rpcx|${inflight}|${s.label}`)!)
      }`
    );
    console.log(`| ${inflight} | ${cols.join(" | ")} |`);
  }
}
