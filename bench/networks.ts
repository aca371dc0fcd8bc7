// Head-to-head per network: calls/s over tcp, tcp with TLS, unix, http, ws and wss, Go rpcx beside
// ours, same machine, same run, loopback. For each network, both servers (the Go peer's
// `rpcxpeer server --network N`, ours bench/e2e_server.ts) run in their own processes; Go's load
// generator (`rpcxpeer bench --network N`, 100 in flight over 10 connections) and ours
// (bench/e2e.ts --network N, 100 in flight over one connection) call Bench.Echo with a ~100-byte
// MsgPack struct against each. Certificates are made with openssl for the run.
//   deno run -A bench/networks.ts [--total 100000] [--seconds 20] [--networks tcp,tls,unix,ws]
// Prints a markdown table of calls/s. Needs .cache/bin/rpcxpeer (.ci/install/50-gopeer.sh).
import { flag } from "../examples/arith.ts";
import { makeTestCerts } from "../tests/support/certs.ts";
import { type LoadResult, runJson, startServer } from "./_process.ts";

const root = new URL("../", import.meta.url).pathname;
const peer = `${root}.cache/bin/rpcxpeer`;
const total = flag(Deno.args, "total", "100000");
const seconds = flag(Deno.args, "seconds", "20");
const wanted = flag(Deno.args, "networks", "tcp,tls,unix,http,ws,wss").split(",");

// Servers quiet on stderr, killed at the end of their network.
const quiet = { stderr: "null", signal: "SIGKILL" } as const;
const certs = await makeTestCerts();
const dir = await Deno.makeTempDir({ prefix: "rpcx-bench-" });
const rows: string[] = [];
try {
  for (const name of wanted) {
    const tls = name === "tls" || name === "wss";
    const network = name === "tls" ? "tcp" : name;
    const serverTls = tls
      ? ["--tls-cert", certs.server.certPath, "--tls-key", certs.server.keyPath]
      : [];
    const clientTls = tls ? ["--tls-ca", certs.caPath] : [];
    const addrFor = (who: string) => network === "unix" ? `${dir}/${who}.sock` : "127.0.0.1:0";
    // A server's flags (`who`: go or deno) and a load generator's against `addr`.
    const serverFlags = (who: string) => {
      return ["--network", network, "--addr", addrFor(who), ...serverTls];
    };
    const clientFlags = (addr: string) => ["--network", network, "--addr", addr, ...clientTls];
    const go = await startServer(peer, [
      "server",
      "--no-gateway",
      ...serverFlags("go"),
    ], quiet);
    const deno = await startServer(Deno.execPath(), [
      "run",
      "-A",
      `${root}bench/e2e_server.ts`,
      ...serverFlags("deno"),
    ], quiet);
    try {
      const goLoad = (addr: string) =>
        runJson<LoadResult>(peer, [
          "bench",
          ...clientFlags(addr),
          "--total",
          total,
          "--max-seconds",
          seconds,
          "--concurrency",
          "100",
        ]);
      const denoLoad = (addr: string) =>
        runJson<LoadResult>(Deno.execPath(), [
          "run",
          "-A",
          `${root}bench/e2e.ts`,
          ...clientFlags(addr),
          "--total",
          total,
          "--seconds",
          seconds,
          "--concurrency",
          "100",
        ]);
      const cells = [
        await goLoad(go.addr),
        await goLoad(deno.addr),
        await denoLoad(go.addr),
        await denoLoad(deno.addr),
      ].map((r) => r ? `${r.calls_per_sec}${r.errors ? ` (${r.errors} errors)` : ""}` : "failed");
      rows.push(`| ${name} | ${cells.join(" | ")} |`);
      console.error(rows.at(-1));
    } finally {
      await go.stop();
      await deno.stop();
    }
  }
} finally {
  await certs.remove();
  await Deno.remove(dir, { recursive: true });
}
console.log("| network | Go → Go | Go → Deno | Deno → Go | Deno → Deno |");
console.log("| ------- | ------- | --------- | --------- | ----------- |");
for (const r of rows) console.log(r);
