// Our side of bench/head_to_head.ts: one XClient (Peer2Peer, Failfast, RandomSelect, MsgPack) — or
// with --client plain one Client — shared by --inflight loops calling Bench.Mul with {A, B, S}
// (S: --s bytes, echoed back). Prints one JSON line. Portable ("@rpcx/core" and node: built-ins):
// Deno runs this file; head_to_head compiles it beside the installed npm package for Node and Bun.
// --client bare is the floor under them (bench/floor.ts; tcp, 1 in flight): the same request
// frame, encoded once, written on a tcp connection of the runtime's own sockets (as the clients
// dial) and the reply frame read whole, with no rpcx code per call.
//   deno run -A bench/xclient_load.ts --addr host:port [--inflight 100] [--s 0] [--total N]
//                                     [--seconds 5] [--warmup 2000]
//                                     [--client xclient|plain|bare]
//                                     [--network tcp|unix|http|ws|wss] [--tls-ca ca.pem]
//                                     [--timeout 10000]
//   node xclient_load.js ...   bun xclient_load.js ...   (the same flags)
// Every call has a timeout (ms; 0: none), as the Go side's calls each have a context with its
// 10 s timeout.
import { readFileSync } from "node:fs";
import process from "node:process";
import {
  Client,
  FailMode,
  MetadataKeys,
  Peer2PeerDiscovery,
  SelectMode,
  SerializeType,
  XClient,
} from "@rpcx/core";
import { defaultNetworks, msgpackCodec } from "@rpcx/core/extend";
import { createMessage, encodeMessage, HEADER_LENGTH } from "@rpcx/core/protocol";
import { flag } from "../examples/arith.ts";

const args = process.argv.slice(2);
const addr = flag(args, "addr", "");
if (!addr) throw new Error("--addr host:port is required");
const inflight = Math.max(1, Number(flag(args, "inflight", "100")));
const sBytes = Number(flag(args, "s", "0"));
const total = Number(flag(args, "total", "100000000"));
const maxSeconds = Number(flag(args, "seconds", "5"));
const warmup = Number(flag(args, "warmup", "2000"));
const kind = flag(args, "client", "xclient");
const network = flag(args, "network", "tcp");
const timeout = Number(flag(args, "timeout", "10000")) || undefined;
const tlsCa = flag(args, "tls-ca", "");
const tls = tlsCa ? { caCerts: [readFileSync(tlsCa, "utf8")] } : undefined;

type Call = (args: { A: number; B: number; S: string }) => Promise<{ C: number; S: string }>;
let call: Call;
let close: () => Promise<void>;
if (kind === "bare") {
  if (inflight !== 1 || network !== "tcp" || tls) {
    throw new Error("--client bare: tcp, 1 in flight");
  }
  const conn = await defaultNetworks.get("tcp").dial(addr, { timeout: 5000 });
  // The request our clients send for {A: 1, B: 7, S}: the same bytes every time (the reply's
  // C is not checked; its length is read from its header).
  const frame = encodeMessage(createMessage({
    servicePath: "Bench",
    serviceMethod: "Mul",
    serializeType: SerializeType.MsgPack,
    seq: 1n,
    metadata: timeout ? { [MetadataKeys.ServerTimeout]: String(timeout) } : {},
    payload: msgpackCodec.encode({ A: 1, B: 7, S: "s".repeat(sBytes) }),
  }));
  let buf = new Uint8Array(64 * 1024);
  call = async (args) => {
    for (let o = 0; o < frame.byteLength;) o += await conn.write(frame.subarray(o));
    let got = 0;
    let want = HEADER_LENGTH;
    while (got < want) {
      const n = await conn.read(buf.subarray(got));
      if (n === null) throw new Error("closed");
      got += n;
      if (want === HEADER_LENGTH && got >= HEADER_LENGTH) {
        want = HEADER_LENGTH + new DataView(buf.buffer).getUint32(12);
        if (want > buf.byteLength) {
          const bigger = new Uint8Array(want);
          bigger.set(buf.subarray(0, got));
          buf = bigger;
        }
      }
    }
    return { C: args.A * args.B, S: args.S };
  };
  close = () => Promise.resolve(conn.close());
} else if (kind === "plain") {
  const client = new Client(`${network}@${addr}`, { tls });
  call = (args) => client.call("Bench", "Mul", args, { timeout });
  close = () => client.close();
} else {
  const discovery = new Peer2PeerDiscovery(`${network}@${addr}`);
  const x = new XClient("Bench", FailMode.Failfast, SelectMode.RandomSelect, discovery, { tls });
  call = (args) => x.call("Mul", args, { timeout });
  close = async () => {
    await x.close();
    await discovery.close();
  };
}

const S = "s".repeat(sBytes);
for (let i = 0; i < warmup; i++) await call({ A: i, B: 7, S });

const latencies: number[] = []; // grown as needed: --total is a bound, not a size
let next = 0;
let errors = 0;
let firstError: string | undefined;
let stop = false;
const timer = setTimeout(() => (stop = true), maxSeconds * 1000);
// CPU time of this process (user + system, from /proc; 0 where there is none): calls per CPU
// second is steadier than calls/s on a shared machine.
const cpuMs = (): number => {
  try {
    const f = readFileSync("/proc/self/stat", "utf8").split(") ")[1].split(" ");
    return (Number(f[11]) + Number(f[12])) * 10; // clock ticks of 10 ms
  } catch {
    return 0;
  }
};
const cpu0 = cpuMs();
const start = performance.now();
async function loop(): Promise<void> {
  while (!stop && next < total) {
    const i = next++;
    const args = { A: i, B: 7, S };
    const t0 = performance.now();
    try {
      const r = await call(args);
      if (r.C !== i * 7 || r.S.length !== sBytes) throw new Error(`wrong reply for A=${i}`);
    } catch (e) {
      if (errors++ === 0) firstError = String(e);
    }
    latencies.push(performance.now() - t0);
  }
}
await Promise.all(Array.from({ length: inflight }, loop));
const seconds = (performance.now() - start) / 1000;
const cpu = cpuMs() - cpu0;
clearTimeout(timer);
const done = Float64Array.from(latencies).sort();
const pct = (p: number) =>
  Math.round(done[Math.min(done.length - 1, Math.max(0, Math.round(done.length * p) - 1))] * 1000);
const runtime = "Bun" in globalThis ? "bun" : "Deno" in globalThis ? "deno" : "node";
console.log(JSON.stringify({
  client: `${runtime}-${kind}`,
  calls: next,
  errors,
  seconds: Number(seconds.toFixed(3)),
  calls_per_sec: Math.round(next / seconds),
  cpu_us_per_call: cpu > 0 ? Number((cpu * 1000 / next).toFixed(1)) : undefined,
  p50_us: pct(0.5),
  p99_us: pct(0.99),
  inflight,
  s_bytes: sBytes,
  ...(firstError ? { first_error: firstError } : {}),
}));
await close();
