// Head-to-head with Go rpcx on this machine, same run, loopback (needs .cache/bin/rpcxpeer,
// built by .ci/install/50-gopeer.sh):
//   1. Go client load → Go server      vs  Go client load → Deno server
//   2. Go client load → Go server      vs  Deno client    → Go server
// Fixed concurrency (default 100 in flight), fixed count (default 200 000 calls of a ~100-byte
// MsgPack struct), each run bounded in time. Prints a markdown table with ratios Deno/Go.
//   deno run -A bench/head_to_head.ts [--total 200000] [--concurrency 100] [--seconds 60]
import { flag } from "../examples/arith.ts";

const root = new URL("../", import.meta.url).pathname;
const peer = `${root}.cache/bin/rpcxpeer`;
const total = flag(Deno.args, "total", "200000");
const concurrency = flag(Deno.args, "concurrency", "100");
const seconds = flag(Deno.args, "seconds", "60");

interface Result {
  calls: number;
  errors: number;
  calls_per_sec: number;
  p50_us: number;
  p99_us: number;
}

async function startServer(
  cmd: string,
  args: string[],
): Promise<{ addr: string; stop(): Promise<void> }> {
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
    async stop() {
      child.kill("SIGTERM");
      await child.status;
    },
  };
}

async function runJson(cmd: string, args: string[]): Promise<Result> {
  const out = await new Deno.Command(cmd, { args, stderr: "inherit" }).output();
  const line = new TextDecoder().decode(out.stdout).trim().split("\n").filter((l) =>
    l.startsWith("{")
  )
    .pop();
  if (!line) throw new Error(`${cmd} ${args.join(" ")} printed no result`);
  return JSON.parse(line);
}

const goLoad = (addr: string) =>
  runJson(peer, [
    "bench",
    "--addr",
    addr,
    "--concurrency",
    concurrency,
    "--total",
    total,
    "--max-seconds",
    seconds,
  ]);
const denoLoad = (addr: string) =>
  runJson(Deno.execPath(), [
    "run",
    "-A",
    `${root}bench/e2e.ts`,
    "--addr",
    addr,
    "--concurrency",
    concurrency,
    "--total",
    total,
    "--seconds",
    seconds,
  ]);

const goServer = await startServer(peer, ["server", "--addr", "127.0.0.1:0", "--no-gateway"]);
const denoServer = await startServer(Deno.execPath(), ["run", "-A", `${root}bench/e2e_server.ts`]);
try {
  const goGo = await goLoad(goServer.addr);
  const goDeno = await goLoad(denoServer.addr);
  const denoGo = await denoLoad(goServer.addr);
  const denoDeno = await denoLoad(denoServer.addr);
  const row = (name: string, r: Result, base?: Result) =>
    `| ${name} | ${r.calls} | ${r.errors} | ${r.calls_per_sec} | ${r.p50_us} | ${r.p99_us} | ${
      base ? (r.calls_per_sec / base.calls_per_sec).toFixed(2) : "1.00"
    } |`;
  const cpu = (await Deno.readTextFile("/proc/cpuinfo")).match(/model name\s*:\s*(.*)/)?.[1];
  console.log(`machine: ${navigator.hardwareConcurrency} cores, ${cpu}; ${concurrency} in flight`);
  console.log("| client → server | calls | errors | calls/s | p50 µs | p99 µs | ratio vs Go→Go |");
  console.log("|---|---|---|---|---|---|---|");
  console.log(row("Go → Go", goGo));
  console.log(row("Go → Deno", goDeno, goGo));
  console.log(row("Deno → Go", denoGo, goGo));
  console.log(row("Deno → Deno", denoDeno, goGo));
} finally {
  await goServer.stop();
  await denoServer.stop();
}
