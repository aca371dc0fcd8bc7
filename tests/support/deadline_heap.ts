// Run by tests/server_test.ts in a child process with --v8-flags=--expose-gc:
//   deno run -A --v8-flags=--expose-gc tests/support/deadline_heap.ts <path> [calls]
// makes `calls` calls carrying a 60 s `__ServerTimeout` on one path that gives a call a deadline
// (handleMessage, inprocess, tcp: an rpcx connection, http: HTTP invoke, jsonrpc), each answered
// at once, and prints one JSON line: the heap left behind per answered call after a full GC, for
// `calls` calls without a timeout (`untimed`, the path's own baseline) and then with (`timed`). A deadline
// held until it passes (a timer and its signal) shows as hundreds of bytes per call; a deadline
// released when the call settles, as ~0. The process then closes everything and ends on its own:
// a leftover ref'd timer would keep it alive for 60 s, past the test's bound.
import { Client, SerializeType, Server } from "@rpcx/core";
import { jsonCodec } from "@rpcx/core/extend";
import { createMessage } from "@rpcx/core/protocol";

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("run with --v8-flags=--expose-gc");
const only = Deno.args[0];
const calls = Number(Deno.args[1] ?? 4000);
const TIMEOUT = 60_000;
const BATCH = 100;

const server = new Server();
await server.register({ Mul: (a: { A: number; B: number }) => ({ C: a.A * a.B }) }, "Arith");
const addr = await server.serve("tcp", "127.0.0.1:0");
await server.serve("inprocess", "deadline-heap");
const tcp = new Client(`tcp@${addr}`);
const inproc = new Client("inprocess@deadline-heap");
const payload = jsonCodec.encode({ A: 2, B: 3 });
/** Calls on each path, with the 60 s deadline or without. */
const paths: Record<string, (i: number, timed: boolean) => Promise<unknown>> = {
  handleMessage: (i, timed) =>
    server.handleMessage(createMessage({
      seq: BigInt(i),
      servicePath: "Arith",
      serviceMethod: "Mul",
      serializeType: SerializeType.JSON,
      metadata: timed ? { __ServerTimeout: String(TIMEOUT) } : {},
      payload,
    })),
  inprocess: (_, timed) => inproc.call("Arith", "Mul", { A: 2, B: 3 }, callOptions(timed)),
  tcp: (_, timed) => tcp.call("Arith", "Mul", { A: 2, B: 3 }, callOptions(timed)),
  http: async (_, timed) => {
    const r = await fetch(`http://${addr}/Arith`, {
      method: "POST",
      headers: { "X-RPCX-ServiceMethod": "Mul", "X-RPCX-SerializeType": "1", ...meta(timed) },
      body: '{"A":2,"B":3}',
    });
    if (r.status !== 200) throw new Error(`HTTP ${r.status}`);
    return await r.arrayBuffer();
  },
  jsonrpc: async (_, timed) => {
    const r = await fetch(`http://${addr}/`, {
      method: "POST",
      headers: { "X-JSONRPC-2.0": "true", ...meta(timed) },
      body: '{"jsonrpc":"2.0","method":"Arith.Mul","params":{"A":2,"B":3},"id":1}',
    });
    if (r.status !== 200) throw new Error(`JSON-RPC ${r.status}`);
    return await r.text();
  },
};

function callOptions(timed: boolean): { timeout?: number } {
  return timed ? { timeout: TIMEOUT } : {};
}

function meta(timed: boolean): Record<string, string> {
  return timed ? { "X-RPCX-Meta": `__ServerTimeout=${TIMEOUT}` } : {};
}

async function run(
  call: (i: number, timed: boolean) => Promise<unknown>,
  n: number,
  timed: boolean,
): Promise<void> {
  for (let i = 0; i < n; i += BATCH) {
    const batch = Math.min(BATCH, n - i);
    await Promise.all(Array.from({ length: batch }, (_, j) => call(i + j, timed)));
  }
}

/** Heap left per call by `n` calls (after a full GC). */
async function perCall(
  call: (i: number, timed: boolean) => Promise<unknown>,
  n: number,
  timed: boolean,
): Promise<number> {
  const before = heap();
  await run(call, n, timed);
  return (heap() - before) / n;
}

function heap(): number {
  gc!();
  gc!();
  return Deno.memoryUsage().heapUsed;
}

for (const [name, call] of Object.entries(paths)) {
  if (only !== undefined && name !== only) continue;
  // Warm both kinds first: pools, compiled code, buffers.
  await run(call, 500, false);
  await run(call, 500, true);
  const untimed = await perCall(call, calls, false);
  const timed = await perCall(call, calls, true);
  console.log(JSON.stringify({ path: name, calls, untimed, timed }));
}
await tcp.close();
await inproc.close();
await server.shutdown();
