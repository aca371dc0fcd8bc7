// Connection scale: how many idle connections a server holds, what each costs, how fast it
// accepts them. Three servers, each in its own process on loopback, measured one after the other
// with the same dialer (this process) and repeated for --rounds rounds in alternating order, so
// a shared machine's load weighs on all of them alike:
//   - Deno: our server (bench/e2e_server.ts, HTTP invoke and JSON-RPC on as by default);
//   - Go: the Go peer's rpcx server (.cache/bin/rpcxpeer, built by .ci/install/50-gopeer.sh);
//   - floor: Deno itself with no rpcx code (bench/_bare_server.ts: accept, one pending read of a
//     64-byte buffer per connection), i.e. what any Deno server pays per connection.
// For each:
//   1. start the server, make one call (warm), read its RSS (/proc/<pid>/status VmRSS);
//   2. open --conns connections, --batch at a time; each sends 10 bytes of a request header and
//      then stalls (an idle, half-sent peer);
//   3. once all are open, call Arith.Mul on a new connection (the floor: a one-byte ping): the
//      time from the first connect to that reply is the accept time (the listener accepts in
//      order, so the call is answered only after every earlier connection was accepted); then one
//      more call on that connection gives the call latency with every idle connection held;
//   4. read the RSS again once it stops growing: (after - before) / conns is the memory per idle
//      connection;
//   5. with --hold S (default 40), keep every connection idle S seconds more and read the RSS once
//      again: a garbage-collected runtime gives memory back some time after a burst (V8's memory
//      reducer shrinks Deno's heap ~30 s after accepting stops), so this is what the same idle
//      connections cost once the server has settled. Every server gets the same hold.
// Prints a markdown table with the load average at each measurement, then the medians and the
// Deno/Go ratios of each round.
//   deno run -A bench/conn_scale.ts [--conns 10000] [--batch 500] [--rounds 3] [--hold 40]
//     [--only deno,go,floor] [--deno-sockets]
// --deno-sockets: our server listens with Deno's own sockets (ListenOptions.nodeSockets: false)
// rather than node:net, the default since issue 28.
import { Client } from "@rpcx/core";
import { flag } from "../examples/arith.ts";
import { startServer } from "./_process.ts";

const root = new URL("../", import.meta.url).pathname;
const conns = Number(flag(Deno.args, "conns", "10000"));
const batch = Number(flag(Deno.args, "batch", "500"));
const rounds = Number(flag(Deno.args, "rounds", "3"));
const only = flag(Deno.args, "only", "deno,go,floor").split(",");
const holdSeconds = Number(flag(Deno.args, "hold", "40"));

interface Row {
  round: number;
  load: string;
  server: string;
  conns: number;
  rssBeforeMiB: number;
  rssAfterMiB: number;
  kibPerConn: number;
  /** After --hold seconds more with every connection idle; NaN without a hold. */
  heldKibPerConn: number;
  acceptSeconds: number;
  acceptsPerSec: number;
  acceptCpuMs: number;
  callMs: number;
}

/** CPU time the process has used (user + system, all threads), in ms. */
function cpuMs(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // utime and stime are fields 14 and 15 of the line (11 and 12 after the command name), in
  // clock ticks of 10 ms.
  return (Number(fields[11]) + Number(fields[12])) * 10;
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

/** A call on a connection of its own: rpcx Arith.Mul, or the floor server's one-byte ping. */
interface Prober {
  call(timeout: number): Promise<void>;
  close(): Promise<void>;
}

function rpcxProber(addr: string): Prober {
  const client = new Client(`tcp@${addr}`, { connectTimeout: 60_000 });
  return {
    async call(timeout) {
      await client.call("Arith", "Mul", { A: 10, B: 20 }, { timeout });
    },
    close: () => client.close(),
  };
}

function pingProber(addr: string): Prober {
  const [hostname, port] = addr.split(":");
  let conn: Deno.TcpConn | undefined;
  return {
    async call() {
      conn ??= await Deno.connect({ hostname, port: Number(port) });
      await conn.write(new Uint8Array([0x50]));
      if ((await conn.read(new Uint8Array(1))) !== 1) throw new Error("no pong");
    },
    close() {
      conn?.close();
      return Promise.resolve();
    },
  };
}

function loadAverage(): string {
  return Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ");
}

async function measure(
  round: number,
  name: string,
  cmd: string,
  args: string[],
  prober: (addr: string) => Prober,
): Promise<Row> {
  const load = loadAverage();
  const server = await startServer(cmd, args, { stderr: "null", signal: "SIGKILL" });
  const [hostname, port] = server.addr.split(":");
  const opened: Deno.TcpConn[] = [];
  const warm = prober(server.addr);
  try {
    await warm.call(10_000);
    await warm.close();
    const before = await settledRss(server.pid);
    // Magic, version, flags, serializer, and 6 of the 8 seq bytes: a header cut short.
    const partial = new Uint8Array([0x08, 0x01, 0, 0x10, 0, 0, 0, 0, 0, 0]);
    const cpu0 = cpuMs(server.pid);
    const t0 = performance.now();
    for (let i = 0; i < conns; i += batch) {
      const n = Math.min(batch, conns - i);
      const group = await Promise.all(
        Array.from({ length: n }, () => Deno.connect({ hostname, port: Number(port) })),
      );
      opened.push(...group);
      await Promise.all(group.map((c) => c.write(partial)));
    }
    const probe = prober(server.addr);
    try {
      await probe.call(60_000);
      const acceptSeconds = (performance.now() - t0) / 1000;
      const acceptCpuMs = cpuMs(server.pid) - cpu0;
      const t1 = performance.now();
      await probe.call(10_000);
      const callMs = performance.now() - t1;
      const after = await settledRss(server.pid);
      let held = NaN;
      if (holdSeconds > 0) {
        await new Promise((r) => setTimeout(r, holdSeconds * 1000));
        held = rssKiB(server.pid);
      }
      return {
        round,
        load,
        server: name,
        conns,
        rssBeforeMiB: before / 1024,
        rssAfterMiB: after / 1024,
        kibPerConn: (after - before) / conns,
        heldKibPerConn: (held - before) / conns,
        acceptSeconds,
        acceptsPerSec: conns / acceptSeconds,
        acceptCpuMs,
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

const servers = [
  {
    name: "Deno",
    cmd: Deno.execPath(),
    args: [
      "run",
      "-A",
      `${root}bench/e2e_server.ts`,
      "--addr",
      "127.0.0.1:0",
      ...(Deno.args.includes("--deno-sockets") ? ["--deno-sockets"] : []),
    ],
    prober: rpcxProber,
  },
  {
    name: "Go",
    cmd: `${root}.cache/bin/rpcxpeer`,
    args: ["server", "--addr", "127.0.0.1:0", "--no-gateway"],
    prober: rpcxProber,
  },
  {
    name: "floor",
    cmd: Deno.execPath(),
    args: ["run", "-A", `${root}bench/_bare_server.ts`, "--addr", "127.0.0.1:0"],
    prober: pingProber,
  },
].filter((s) => only.includes(s.name.toLowerCase()));

const rows: Row[] = [];
for (let round = 1; round <= rounds; round++) {
  const order = round % 2 === 1 ? servers : [...servers].reverse();
  for (const s of order) rows.push(await measure(round, s.name, s.cmd, s.args, s.prober));
}

console.log(
  `| round | load avg | server | idle conns | RSS before (MiB) | RSS after (MiB) | KiB per conn | KiB per conn after ${holdSeconds} s idle | accept all (s) | accepts/s | server CPU to accept all (ms) | call with all held (ms) |`,
);
console.log("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
for (const r of rows) {
  console.log(
    `| ${r.round} | ${r.load} | ${r.server} | ${r.conns} | ${r.rssBeforeMiB.toFixed(1)} | ${
      r.rssAfterMiB.toFixed(1)
    } | ${r.kibPerConn.toFixed(1)} | ${fixed(r.heldKibPerConn, 1)} | ${
      r.acceptSeconds.toFixed(2)
    } | ${r.acceptsPerSec.toFixed(0)} | ${r.acceptCpuMs} | ${r.callMs.toFixed(1)} |`,
  );
}

/** `x` with `digits` decimals; "-" when there is no figure (no --hold). */
function fixed(x: number, digits: number): string {
  return Number.isNaN(x) ? "-" : x.toFixed(digits);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

console.log("\nMedians:");
console.log(
  `| server | KiB per conn | KiB per conn after ${holdSeconds} s idle | accept all (s) | server CPU to accept all (ms) | call with all held (ms) |`,
);
console.log("| --- | --- | --- | --- | --- | --- |");
for (const s of servers) {
  const of = rows.filter((r) => r.server === s.name);
  console.log(
    `| ${s.name} | ${median(of.map((r) => r.kibPerConn)).toFixed(1)} | ${
      fixed(median(of.map((r) => r.heldKibPerConn)), 1)
    } | ${median(of.map((r) => r.acceptSeconds)).toFixed(2)} | ${
      median(of.map((r) => r.acceptCpuMs))
    } | ${median(of.map((r) => r.callMs)).toFixed(1)} |`,
  );
}
const ratios = [];
for (let round = 1; round <= rounds; round++) {
  const d = rows.find((r) => r.round === round && r.server === "Deno");
  const g = rows.find((r) => r.round === round && r.server === "Go");
  if (d && g) {
    ratios.push({
      mem: d.kibPerConn / g.kibPerConn,
      held: d.heldKibPerConn / g.heldKibPerConn,
      accept: d.acceptSeconds / g.acceptSeconds,
      cpu: d.acceptCpuMs / g.acceptCpuMs,
    });
  }
}
if (ratios.length > 0) {
  console.log(
    `\nDeno/Go in the same round: memory per conn ${
      ratios.map((r) => r.mem.toFixed(2)).join(", ")
    } (median ${median(ratios.map((r) => r.mem)).toFixed(2)}); after ${holdSeconds} s idle ${
      ratios.map((r) => fixed(r.held, 2)).join(", ")
    } (median ${fixed(median(ratios.map((r) => r.held)), 2)}); accept time ${
      ratios.map((r) => r.accept.toFixed(2)).join(", ")
    } (median ${median(ratios.map((r) => r.accept)).toFixed(2)}); server CPU to accept ${
      ratios.map((r) => r.cpu.toFixed(2)).join(", ")
    } (median ${median(ratios.map((r) => r.cpu)).toFixed(2)})`,
  );
}
// A call timeout's timer may still be pending (up to 60 s): the figures are out, so end here.
Deno.exit(0);
