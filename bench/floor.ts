// One call in flight against the floor: our XClient (and a plain Client) against a bare socket
// round trip of the same runtime (bench/xclient_load.ts --client bare: the same request frame,
// encoded once, written and its reply read whole on a socket from runtime().sockets, no rpcx
// code per call), all against the Go peer's server, in one run. The three take turns, round
// after round (the first of a round changes), so the machine's drift weighs on all alike; the
// table gives medians and the range of the per-round ratios to the floor.
//   deno run -A bench/floor.ts [--rounds 7] [--seconds 3] [--s 0,16384]
// Needs .cache/bin/rpcxpeer (.ci/install/50-gopeer.sh).
import { flag } from "../examples/arith.ts";
import { type LoadResult, runJson, startServer } from "./_process.ts";

const root = new URL("../", import.meta.url).pathname;
const peer = Deno.env.get("RPCXPEER") ?? `${root}.cache/bin/rpcxpeer`;
const rounds = Number(flag(Deno.args, "rounds", "7"));
const seconds = flag(Deno.args, "seconds", "3");
const sizes = flag(Deno.args, "s", "0,16384").split(",").map(Number);
const KINDS = ["bare", "xclient", "plain"] as const;

const load = async (addr: string, kind: string, s: number): Promise<LoadResult> => {
  const r = await runJson<LoadResult>(Deno.execPath(), [
    "run",
    "-A",
    `${root}bench/xclient_load.ts`,
    `--addr=${addr}`,
    "--inflight=1",
    `--s=${s}`,
    `--seconds=${seconds}`,
    "--warmup=2000",
    `--client=${kind}`,
  ]);
  if (!r || r.errors > 0) throw new Error(`${kind}: ${r?.first_error ?? "no result"}`);
  return r;
};

const server = await startServer(peer, ["server", "--addr", "127.0.0.1:0", "--no-gateway"], {
  stderr: "null",
});
const results = new Map<string, LoadResult[]>();
try {
  for (let round = 0; round < rounds; round++) {
    for (const s of sizes) {
      for (let i = 0; i < KINDS.length; i++) {
        const kind = KINDS[(i + round) % KINDS.length];
        const r = await load(server.addr, kind, s);
        const key = `${s}|${kind}`;
        results.set(key, [...(results.get(key) ?? []), r]);
        console.error(
          `round ${round + 1} S=${s} ${kind}: ${r.calls_per_sec} calls/s, p50 ${r.p50_us} µs`,
        );
      }
    }
  }
} finally {
  await server.stop();
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const range = (xs: number[]) => {
  const lo = Math.min(...xs).toFixed(2), hi = Math.max(...xs).toFixed(2);
  return lo === hi ? lo : `${lo}–${hi}`;
};
const loadavg = (await Deno.readTextFile("/proc/loadavg")).split(" ").slice(0, 3).join(" ");
console.log(
  `${navigator.hardwareConcurrency} cores, load average at the end ${loadavg}; ${rounds} rounds × ` +
    `${seconds} s; Deno ${Deno.version.deno}; against the Go peer's server`,
);
console.log(
  "| S | bare socket calls/s (p50 µs) | XClient calls/s (p50 µs) | XClient ÷ bare (median, range) | Client calls/s (p50 µs) | Client ÷ bare |",
);
console.log("|---|---|---|---|---|---|");
for (const s of sizes) {
  const of = (k: string) => results.get(`${s}|${k}`)!;
  const cell = (rs: LoadResult[]) =>
    `${median(rs.map((r) => r.calls_per_sec))} (${median(rs.map((r) => r.p50_us))})`;
  const ratio = (k: string) => of(k).map((r, i) => r.calls_per_sec / of("bare")[i].calls_per_sec);
  console.log(
    `| ${s === 0 ? "none" : `${s / 1024} KiB`} | ${cell(of("bare"))} | ${cell(of("xclient"))} | ${
      median(ratio("xclient")).toFixed(2)
    } (${range(ratio("xclient"))}) | ${cell(of("plain"))} | ${median(ratio("plain")).toFixed(2)} |`,
  );
}
