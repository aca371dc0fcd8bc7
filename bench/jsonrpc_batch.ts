// One large JSON-RPC 2.0 batch against a server in its own process: the server's RSS before,
// at its peak (VmHWM) and after, the batch's time to its answer, and how long another client's
// plain rpcx calls on their own connection waited meanwhile (issue 22, case 4).
//   deno run -A bench/jsonrpc_batch.ts [--members 200000] [--max-batch 200000] [--rounds 1] [--live]
// --live also samples the server's live memory (V8 heap + external after a full GC, every
// 250 ms; those GCs slow it down, so its timings are not the plain ones).
// The server side: deno run -A bench/jsonrpc_batch.ts --serve --max-batch N (prints LISTENING).
import { Client, Server, type ServerOptions } from "@rpcx/core";
import { Arith, flag } from "../examples/arith.ts";
import { startServer } from "./_process.ts";

const maxBatch = Number(flag(Deno.args, "max-batch", "200000"));

if (Deno.args.includes("--serve")) {
  // maxBatchSize is unknown to servers before the batch bound; they ignore it.
  const server = new Server({ maxBatchSize: maxBatch } as ServerOptions);
  await server.register(new Arith(), "Arith");
  let peakLive = 0;
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) {
    setInterval(() => {
      gc();
      const m = Deno.memoryUsage();
      peakLive = Math.max(peakLive, m.heapUsed + m.external);
    }, 250);
  }
  await server.register({
    // The peak of live memory (bytes) since the last call, which starts a new one.
    Peak: () => {
      const p = peakLive;
      peakLive = 0;
      return { P: p };
    },
  }, "Mem");
  server.shutdownOnSignals();
  console.log(`LISTENING ${await server.serve("tcp", "127.0.0.1:0")}`);
} else {
  await main();
}

/** The server's VmRSS and VmHWM (peak RSS) in MiB. */
async function memory(pid: number): Promise<{ rss: number; hwm: number }> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const kb = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)![1]);
  return { rss: kb("VmRSS") / 1024, hwm: kb("VmHWM") / 1024 };
}

/** Sends one HTTP request on its own connection and reads the answer until the server closes. */
async function post(port: number, body: Uint8Array): Promise<{ status: number; body: string }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const head = `POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n` +
    `X-JSONRPC-2.0: true\r\nContent-Length: ${body.byteLength}\r\n\r\n`;
  const all = new Uint8Array(head.length + body.byteLength);
  all.set(new TextEncoder().encode(head));
  all.set(body, head.length);
  const write = (async () => {
    let off = 0;
    while (off < all.byteLength) off += await conn.write(all.subarray(off));
  })();
  const chunks: Uint8Array<ArrayBuffer>[] = [];
  const buf = new Uint8Array(256 * 1024);
  try {
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      chunks.push(buf.slice(0, n));
    }
  } finally {
    conn.close();
  }
  await write.catch(() => {});
  const text = new TextDecoder().decode(await new Blob(chunks).arrayBuffer());
  const split = text.indexOf("\r\n\r\n");
  return { status: Number(text.split(" ")[1]), body: text.slice(split + 4) };
}

function batchBody(members: number): Uint8Array {
  const parts: string[] = [];
  for (let i = 0; i < members; i++) {
    parts.push(`{"jsonrpc":"2.0","method":"Arith.Mul","params":{"A":${i},"B":2},"id":${i + 1}}`);
  }
  return new TextEncoder().encode(`[${parts.join(",")}]`);
}

async function main(): Promise<void> {
  const members = Number(flag(Deno.args, "members", "200000"));
  const rounds = Number(flag(Deno.args, "rounds", "1"));
  const live = Deno.args.includes("--live");
  const body = batchBody(members);
  console.log(`batch of ${members} members, ${(body.byteLength / 1048576).toFixed(1)} MiB`);
  const server = await startServer(Deno.execPath(), [
    "run",
    "-A",
    ...(live ? ["--v8-flags=--expose-gc"] : []),
    new URL(import.meta.url).pathname,
    "--serve",
    "--max-batch",
    String(maxBatch),
  ]);
  const port = Number(server.addr.split(":").pop());
  const client = new Client(`tcp@${server.addr}`);
  try {
    // Warm up both paths.
    for (let i = 0; i < 200; i++) await client.call("Arith", "Mul", { A: i, B: 2 });
    await post(port, batchBody(100));
    for (let round = 1; round <= rounds; round++) {
      await new Promise((r) => setTimeout(r, 1000));
      const before = await memory(server.pid);
      if (live) await new Promise((r) => setTimeout(r, 600));
      const liveBefore = (await client.call<{ P: number }>("Mem", "Peak", {})).P;
      let done = false;
      const waits: number[] = [];
      const caller = (async () => {
        while (!done) {
          const t = performance.now();
          await client.call("Arith", "Mul", { A: 3, B: 4 });
          waits.push(performance.now() - t);
          await new Promise((r) => setTimeout(r, 10));
        }
      })();
      const t0 = performance.now();
      const answer = await post(port, body);
      const ms = performance.now() - t0;
      done = true;
      await caller;
      const after = await memory(server.pid);
      const livePeak = (await client.call<{ P: number }>("Mem", "Peak", {})).P;
      await new Promise((r) => setTimeout(r, 2000));
      const settled = await memory(server.pid);
      const answers = answer.body.startsWith("[")
        ? (JSON.parse(answer.body) as unknown[]).length
        : 0;
      waits.sort((a, b) => a - b);
      console.log(JSON.stringify({
        round,
        status: answer.status,
        answers,
        answerHead: answer.body.slice(0, 120),
        batchMs: Math.round(ms),
        rssBeforeMiB: Math.round(before.rss),
        peakGrowthMiB: Math.round(after.hwm - before.rss),
        rssAfterMiB: Math.round(after.rss),
        rssAfter2sMiB: Math.round(settled.rss),
        ...(live
          ? {
            liveBeforeMiB: Math.round(liveBefore / 1048576),
            livePeakGrowthMiB: Math.round((livePeak - liveBefore) / 1048576),
            livePeakPerBody: Number(((livePeak - liveBefore) / body.byteLength).toFixed(2)),
          }
          : {}),
        otherCalls: waits.length,
        otherMaxMs: Math.round(waits[waits.length - 1] ?? 0),
        otherP50Ms: Math.round(waits[Math.floor(waits.length / 2)] ?? 0),
      }));
    }
  } finally {
    await client.close();
    await server.stop();
  }
}
