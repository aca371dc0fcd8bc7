// A 1 GiB upload and download on loopback, every pair of Go rpcx and @rpcx/core as client and
// server in the same run (Go: rpcxpeer data-server/data-client, i.e. NewFileTransfer with a
// handler that io.Copies into a file, XClient.SendFile/DownloadFile; Deno: directoryHandlers,
// sendFile/downloadFile into a path). Each side runs in its own process. Prints, per transfer,
// the time and throughput (an upload: until the server stored the whole file, a new one each time;
// a download: the client's time; the client's own time beside it), the server's RSS growth (VmHWM after the transfer, reset by
// clear_refs before it, minus VmRSS before), the server's CPU time for it, and the client's peak
// RSS (and its growth for the Deno client, which samples itself).
//   deno run -A bench/file_transfer.ts [--size-mib 1024] [--runs 1] [--json]
//     [--ops upload,download] [--clients go,deno] [--before DIR]
// --before DIR adds a third server, "before": the Deno server of another checkout (e.g.
// `git archive <commit> | tar -x -C DIR`), so a change is measured beside the old code and Go's
// in one run; rounds alternate the servers (load from other processes hits each alike).
// The Deno sides: --serve DIR (prints LISTENING), --client ADDR --op upload|download ...
import {
  directoryHandlers,
  downloadFile,
  enableFileTransfer,
  FileTransfer,
  sendFile,
} from "@rpcx/core/stream";
import { FailMode, Peer2PeerDiscovery, SelectMode, Server, XClient } from "@rpcx/core";
import { flag } from "../examples/arith.ts";
import { startServer } from "./_process.ts";

const REPO = new URL("../", import.meta.url).pathname;
const GO_PEER = Deno.env.get("RPCXPEER") || `${REPO}.cache/bin/rpcxpeer`;

if (Deno.args.includes("--serve")) {
  const dir = flag(Deno.args, "serve", ".");
  const server = new Server();
  const ft = new FileTransfer({ addr: "127.0.0.1:0", ...directoryHandlers(dir) });
  await enableFileTransfer(server, ft);
  server.shutdownOnSignals();
  console.log(`LISTENING ${await server.serve("tcp", "127.0.0.1:0")}`);
} else if (Deno.args.includes("--client")) {
  await client();
} else {
  await main();
}

/** The Deno client: one transfer, then a JSON line {ms, bytes, rssStartMiB, rssPeakMiB}. */
async function client(): Promise<void> {
  const addr = flag(Deno.args, "client", "");
  const op = flag(Deno.args, "op", "upload");
  const rss = () => Deno.memoryUsage().rss / 2 ** 20;
  const rssStart = rss();
  let rssPeak = rssStart;
  const watch = setInterval(() => (rssPeak = Math.max(rssPeak, rss())), 50);
  const x = new XClient(
    "_filetransfer",
    FailMode.Failtry,
    SelectMode.RandomSelect,
    new Peer2PeerDiscovery(`tcp@${addr}`),
  );
  const t0 = performance.now();
  const r = op === "upload"
    ? await sendFile(x, flag(Deno.args, "file", ""))
    : await downloadFile(x, flag(Deno.args, "name", ""), flag(Deno.args, "out", ""));
  const ms = performance.now() - t0;
  clearInterval(watch);
  rssPeak = Math.max(rssPeak, rss());
  await x.close();
  console.log(JSON.stringify({ ms, bytes: r.bytes, rssStartMiB: rssStart, rssPeakMiB: rssPeak }));
}

/** CPU seconds (user + system) the process used so far. */
function cpu(pid: number): number {
  const fields = Deno.readTextFileSync(`/proc/${pid}/stat`).split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function status(pid: number, key: string): number {
  const text = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(text.match(new RegExp(`${key}:\\s+(\\d+) kB`))![1]) / 1024;
}

interface Row {
  op: string;
  client: string;
  server: string;
  seconds: number;
  mibPerSec: number;
  clientSeconds: number;
  serverRssGrowthMiB: number;
  serverCpuSeconds: number;
  clientPeakRssMiB: number;
  clientRssGrowthMiB?: number;
}

/** Runs `args` under /usr/bin/time -v: its last JSON line and its maximum RSS in MiB. */
async function timed(args: string[]): Promise<{ json: Record<string, number>; maxRssMiB: number }> {
  const out = await new Deno.Command("/usr/bin/time", {
    args: ["-v", ...args],
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  const line = stdout.trim().split("\n").filter((l) => l.startsWith("{")).pop();
  if (!out.success || !line) throw new Error(`${args.join(" ")} failed: ${stdout}\n${stderr}`);
  const kb = Number(stderr.match(/Maximum resident set size \(kbytes\): (\d+)/)![1]);
  const json = JSON.parse(line);
  if (json.error) throw new Error(json.error);
  return { json, maxRssMiB: kb / 1024 };
}

async function main(): Promise<void> {
  const sizeMiB = Number(flag(Deno.args, "size-mib", "1024"));
  const ops = flag(Deno.args, "ops", "upload,download").split(",");
  const clients = flag(Deno.args, "clients", "go,deno").split(",") as ("go" | "deno")[];
  const beforeDir = flag(Deno.args, "before", "");
  const uptime = () => Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ");
  console.log(`load average at start: ${uptime()}`);
  const runs = Number(flag(Deno.args, "runs", "1"));
  const size = sizeMiB * 2 ** 20;
  const work = await Deno.makeTempDir({ prefix: "rpcx_bench_ft_" });
  const src = `${work}/src.bin`;
  const goDir = `${work}/go`;
  const denoDir = `${work}/deno`;
  const beforeStore = `${work}/before`;
  const outDir = `${work}/out`;
  for (const d of [goDir, denoDir, beforeStore, outDir]) await Deno.mkdir(d);
  {
    const f = await Deno.open(src, { write: true, create: true });
    const block = new Uint8Array(1 << 20);
    for (let o = 0; o < size; o += block.byteLength) {
      for (let i = 0; i < block.byteLength; i += 65536) {
        crypto.getRandomValues(block.subarray(i, i + 65536));
      }
      for (let w = 0; w < block.byteLength;) w += await f.write(block.subarray(w));
    }
    f.close();
  }
  const up = `${work}/up.bin`; // uploads store it as up.bin, a new file every time
  await Deno.link(src, up);
  await Deno.copyFile(src, `${goDir}/src.bin`);
  await Deno.copyFile(src, `${denoDir}/src.bin`);
  if (beforeDir) await Deno.copyFile(src, `${beforeStore}/src.bin`);
  const port = () => {
    const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const p = (l.addr as Deno.NetAddr).port;
    l.close();
    return p;
  };
  const go = await startServer(GO_PEER, [
    "data-server",
    "--addr",
    "127.0.0.1:0",
    "--transfer-addr",
    `127.0.0.1:${port()}`,
    "--stream",
    "none",
    "--dir",
    goDir,
    "--hash=false",
  ], { stderr: "null" });
  const deno = await startServer(Deno.execPath(), [
    "run",
    "-A",
    new URL(import.meta.url).pathname,
    "--serve",
    denoDir,
  ]);
  const before = beforeDir
    ? await startServer(Deno.execPath(), [
      "run",
      "-A",
      `--config=${beforeDir}/deno.json`,
      `${beforeDir}/bench/file_transfer.ts`,
      "--serve",
      beforeStore,
    ])
    : undefined;
  const servers = { go, deno, ...(before ? { before } : {}) };
  const stores = { go: goDir, deno: denoDir, before: beforeStore };
  const names = Object.keys(servers) as (keyof typeof stores)[];
  const rows: Row[] = [];
  try {
    for (let run = 0; run < runs; run++) {
      for (const op of ops) {
        for (const c of clients) {
          // Each round starts with another server, so none always runs first.
          for (let k = 0; k < names.length; k++) {
            const s = names[(k + run) % names.length];
            const server = servers[s]!;
            Deno.writeTextFileSync(`/proc/${server.pid}/clear_refs`, "5");
            const before = status(server.pid, "VmRSS");
            const cpu0 = cpu(server.pid);
            const out = `${outDir}/${c}_${s}.bin`;
            const args = c === "go"
              ? [GO_PEER, "data-client", "--addr", server.addr, "--op", op, "--meta", ""]
                .concat(op === "upload" ? ["--file", up] : ["--name", "src.bin", "--out", out])
              : [
                Deno.execPath(),
                "run",
                "-A",
                new URL(import.meta.url).pathname,
                "--client",
                server.addr,
                "--op",
                op,
              ]
                .concat(op === "upload" ? ["--file", up] : ["--name", "src.bin", "--out", out]);
            // An upload is done once the server stored all of it (Go's client does not wait for
            // that, ours does): the time from the client's start until the stored file is whole.
            // Each upload stores a new file (the old one was removed outside the timing).
            const stored = `${stores[s]}/up.bin`;
            let whole: number | undefined;
            let watching = op === "upload";
            const watcher = (async () => {
              while (watching && whole === undefined) {
                const st = await Deno.stat(stored).catch(() => undefined);
                if (st?.size === size) whole = performance.now();
                else await new Promise((r) => setTimeout(r, 5));
              }
            })();
            const { json, maxRssMiB } = await timed(args);
            const exited = performance.now();
            let ms = json.ms;
            if (op === "upload") {
              const limit = setTimeout(() => (watching = false), 60_000);
              await watcher;
              clearTimeout(limit);
              if (whole === undefined) throw new Error(`${c} -> ${s}: upload not stored`);
              ms = Math.max(json.ms, whole - (exited - json.ms));
              await Deno.remove(stored);
            }
            const after = status(server.pid, "VmHWM");
            rows.push({
              op,
              client: c,
              server: s,
              seconds: +(ms / 1000).toFixed(2),
              mibPerSec: Math.round(sizeMiB / (ms / 1000)),
              clientSeconds: +(json.ms / 1000).toFixed(2),
              serverRssGrowthMiB: +(after - before).toFixed(1),
              serverCpuSeconds: +(cpu(server.pid) - cpu0).toFixed(2),
              clientPeakRssMiB: +maxRssMiB.toFixed(1),
              clientRssGrowthMiB: c === "deno"
                ? +(json.rssPeakMiB - json.rssStartMiB).toFixed(1)
                : undefined,
            });
            await Deno.remove(out).catch(() => {});
          }
        }
      }
    }
  } finally {
    await go.stop();
    await deno.stop();
    await before?.stop();
    await Deno.remove(work, { recursive: true });
  }
  if (Deno.args.includes("--json")) console.log(JSON.stringify(rows));
  console.log(`load average at the end: ${uptime()}`);
  console.log(`\n${sizeMiB} MiB on loopback (client time; RSS in MiB)`);
  console.table(rows);
  if (runs > 1) {
    const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const summary = [];
    for (const op of ops) {
      for (const c of clients) {
        for (const s of names) {
          const mine = rows.filter((r) => r.op === op && r.client === c && r.server === s);
          summary.push({
            op,
            client: c,
            server: s,
            medianMiBPerSec: median(mine.map((r) => r.mibPerSec)),
            range: `${Math.min(...mine.map((r) => r.mibPerSec))}-${
              Math.max(...mine.map((r) => r.mibPerSec))
            }`,
            medianServerCpuSecondsPerGiB: +(median(
              mine.map((r) => r.serverCpuSeconds),
            ) * 1024 / sizeMiB).toFixed(2),
            maxServerRssGrowthMiB: Math.max(...mine.map((r) => r.serverRssGrowthMiB)),
            maxClientPeakRssMiB: Math.max(...mine.map((r) => r.clientPeakRssMiB)),
          });
        }
      }
    }
    console.log(`medians of ${runs} runs`);
    console.table(summary);
  }
}
