// Connection scale: how many idle connections a server holds, what each costs, how fast it
// accepts them. The Deno server (bench/e2e_server.ts) and the Go peer's server
// (.cache/bin/rpcxpeer, built by .ci/install/50-gopeer.sh) run in their own processes, one after
// the other in the same run, on loopback. For each:
//   1. start the server, make one call (warm), read its RSS (/proc/<pid>/status VmRSS);
//   2. open --conns connections, --batch at a time; each sends 10 bytes of a request header and
//      then stalls (an idle, half-sent peer);
//   3. once all are open, call Arith.Mul on a new connection: the time from the first connect to
//      that reply is the accept time (the listener accepts in order, so the call is answered only
//      after every earlier connection was accepted); then one more call on that connection gives the
//      call latency with every idle connection held;
//   4. read the RSS again once it stops growing: (after - before) / conns is the memory per idle
//      connection.
// Prints a markdown table.
//   deno run -A bench/conn_scale.ts [--conns 10000] [--batch 500] [--only deno|go]
import { Client } from "@rpcx/core";
import { flag } from "../examples/arith.ts";

const root = new URL("../", import.meta.url).pathname;
const conns = Number(flag(Deno.args, "conns", "10000"));
const batch = Number(flag(Deno.args, "batch", "500"));
const only = flag(Deno.args, "only", "");

interface Row {
  server: string;
  conns: number;
  rssBeforeMiB: number;
  rssAfterMiB: number;
  kibPerConn: number;
  acceptSeconds: number;
  acceptsPerSec: number;
  callMs: number;
}

async function startServer(
  cmd: string,
  args: string[],
): Promise<{ addr: string; pid: number; stop(): Promise<void> }> {
  const child = new Deno.Command(cmd, { args, stdout: "piped", stderr: "null" }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!/LISTENING \S+/.test(text)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`server did not start: ${text}`);
    text += value;
  }
  void (async () => {
    while (!(await reader.read().catch(() => ({ done: true }))).done) { /* drain */ }
  })();
  return {
    addr: text.match(/LISTENING (\S+)/)![1],
    pid: child.pid,
    async stop() {
      try {
        child.kill("SIGKILL");
      } catch {
        // exited
      }
      await child.status;
    },
  };
}

function rssKiB(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(status.match(/VmRSS:\s+(\d+)/)![1]);
}

async function settledRss(pid: number): Promise<number> {
  let last = rssKiB(pid);
  for (let i = 0; i < 20; i++) {
    await new Promise((r) => setTimeout(r, 250));
    const now = rssKiB(pid);
    if (Math.abs(now - last) < 64) return now;
    last = now;
  }
  return last;
}

async function measure(name: string, cmd: string, args: string[]): Promise<Row> {
  const server = await startServer(cmd, args);
  const [hostname, port] = server.addr.split(":");
  const opened: Deno.TcpConn[] = [];
  const warm = new Client(`tcp@${server.addr}`);
  try {
    await warm.call("Arith", "Mul", { A: 2, B: 3 });
    await warm.close();
    const before = await settledRss(server.pid);
    // Magic, version, flags, serializer, and 6 of the 8 seq bytes: a header cut short.
    const partial = new Uint8Array([0x08, 0x01, 0, 0x10, 0, 0, 0, 0, 0, 0]);
    const t0 = performance.now();
    for (let i = 0; i < conns; i += batch) {
      const n = Math.min(batch, conns - i);
      const group = await Promise.all(
        Array.from({ length: n }, () => Deno.connect({ hostname, port: Number(port) })),
      );
      opened.push(...group);
      await Promise.all(group.map((c) => c.write(partial)));
    }
    const probe = new Client(`tcp@${server.addr}`, { connectTimeout: 60_000 });
    try {
      await probe.call("Arith", "Mul", { A: 10, B: 20 }, { timeout: 60_000 });
      const acceptSeconds = (performance.now() - t0) / 1000;
      const t1 = performance.now();
      await probe.call("Arith", "Mul", { A: 10, B: 20 }, { timeout: 10_000 });
      const callMs = performance.now() - t1;
      const after = await settledRss(server.pid);
      return {
        server: name,
        conns,
        rssBeforeMiB: before / 1024,
        rssAfterMiB: after / 1024,
        kibPerConn: (after - before) / conns,
        acceptSeconds,
        acceptsPerSec: conns / acceptSeconds,
        callMs,
      };
    } finally {
      await probe.close();
    }
  } finally {
    for (const c of opened) {
      try {
        c.close();
      } catch {
        // closed by the server
      }
    }
    await server.stop();
  }
}

const rows: Row[] = [];
if (only !== "go") {
  rows.push(
    await measure("Deno", Deno.execPath(), [
      "run",
      "-A",
      `${root}bench/e2e_server.ts`,
      "--addr",
      "127.0.0.1:0",
    ]),
  );
}
if (only !== "deno") {
  rows.push(
    await measure("Go", `${root}.cache/bin/rpcxpeer`, [
      "server",
      "--addr",
      "127.0.0.1:0",
      "--no-gateway",
    ]),
  );
}
console.log(
  "| server | idle conns | RSS before (MiB) | RSS after (MiB) | KiB per conn | accept all (s) | accepts/s | call with all held (ms) |",
);
console.log("| --- | --- | --- | --- | --- | --- | --- | --- |");
for (const r of rows) {
  console.log(
    `| ${r.server} | ${r.conns} | ${r.rssBeforeMiB.toFixed(1)} | ${r.rssAfterMiB.toFixed(1)} | ${
      r.kibPerConn.toFixed(1)
    } | ${r.acceptSeconds.toFixed(2)} | ${r.acceptsPerSec.toFixed(0)} | ${r.callMs.toFixed(1)} |`,
  );
}
