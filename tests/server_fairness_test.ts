// Fairness of a saturated port (issue 28): 1000 connections, each with one call in flight, opened
// at once against our server, which has more work than CPU. Every connection must get its turn:
// on Deno's own sockets some connections were answered over and over while others waited
// seconds for their first answer (p99 30-100x the median, 3-6 s); a Server's tcp port now
// listens with node:net on Deno by default (ListenOptions.nodeSockets), which serves rpcx
// connections in turn (p99 2.7-5x the median). A fault test, not a speed test: it bounds the
// spread of the latencies (p99 against the median of the same run), which a slow or loaded
// machine stretches alike.
import assert from "node:assert/strict";
import { GO_PEER, needGoPeer } from "./support/go_peer.ts";
import { runBounded, startReady } from "./support/child.ts";
import { type Connection, tcpNetwork } from "@rpcx/core/extend";

interface Load {
  calls: number;
  errors: number;
  p50_us: number;
  p99_us: number;
}

/** Runs one bounded load of the Go peer (`bench` or `http-bench`) against a fresh server. */
async function saturate(kind: "rpcx" | "http", nodeSockets?: boolean): Promise<Load> {
  const server = await startReady(Deno.execPath(), [
    "run",
    "-A",
    new URL("./support/load_server.ts", import.meta.url).pathname,
    ...(nodeSockets === undefined ? [] : ["--node-sockets", String(nodeSockets)]),
  ], { ready: /LISTENING (\S+)/, what: "the load server's LISTENING line", timeoutMs: 30_000 });
  try {
    const addr = server.match[1];
    const args = kind === "rpcx"
      ? ["bench", "--addr", addr, "--pool", "1000", "--concurrency", "1000", "--total", "20000"]
      : [
        "http-bench",
        "--addr",
        addr,
        "--concurrency",
        "1000",
        "--total",
        "20000",
        "--warmup",
        "100",
      ];
    args.push("--max-seconds", kind === "rpcx" ? "30" : "30s");
    const out = await runBounded(GO_PEER!, {
      args,
      timeoutMs: 60_000,
      what: `rpcxpeer ${args[0]}`,
    });
    const text = new TextDecoder().decode(out.stdout).trim().split("\n").pop() ?? "";
    return JSON.parse(text) as Load;
  } finally {
    await server.stop();
  }
}

// rpcx frames only: under Go's net/http client (which dials its 1000 connections lazily, inside
// the load) HTTP shows a tail on node:net in about half the runs (p99 26-37x the median; 3-5x in
// the others), as a bare node:http server does under Deno and under Node: the runtime's listener
// leaves new connections in the kernel's accept queue for seconds while the port is saturated
// (README, "HTTP on the rpcx port"). That is no fault of ours for a test to catch.
for (const kind of ["rpcx"] as const) {
  Deno.test(`a saturated port serves 1000 connections in turn (${kind}): none waits seconds for its answers`, async () => {
    if (!needGoPeer()) return;
    const r = await saturate(kind);
    assert.equal(r.errors, 0, JSON.stringify(r));
    // Fair: p99 / p50 was 2.6-4.8 on node:net (p50 55-320 ms under load averages of 6-13), and
    // 14-17 on Deno's own sockets at a load average of 6, 44-100 at 10-17 (p99 0.7-6.2 s).
    const spread = r.p99_us / Math.max(r.p50_us, 1);
    console.log(`${kind}: p50 ${r.p50_us} µs, p99 ${r.p99_us} µs (${spread.toFixed(1)}x)`);
    assert.ok(
      spread < 8,
      `some connections starve: p50 ${r.p50_us} µs, p99 ${r.p99_us} µs (${spread.toFixed(1)}x)`,
    );
  });
}

Deno.test("a loop awaiting its writes on a node:net connection lets timers and reads run", async () => {
  // Deno's node:net resolved a write without a turn of the event loop when the kernel took the
  // bytes at once: a server pushing in a loop starved every timer, read and accept until the
  // loop ended (a client's close went unseen for 100,000 pushes).
  const listener = await tcpNetwork.listen("127.0.0.1:0", { nodeSockets: true });
  const client = await tcpNetwork.dial(listener.address);
  const accepted = await listener[Symbol.asyncIterator]().next();
  const server = accepted.value as Connection;
  let draining = true;
  const drain = (async () => {
    const buf = new Uint8Array(64 * 1024);
    while (draining && (await client.read(buf)) !== null) { /* keep the kernel's buffer empty */ }
  })().catch(() => {});
  try {
    // The first writes of a connection may wait for the socket (a turn): warm it first.
    for (let i = 0; i < 100; i++) await server.write(Uint8Array.of(0));
    let fired = false;
    setTimeout(() => (fired = true), 0);
    // Few bytes: the kernel's buffers never fill (a full one makes a write wait, and yield).
    const bytes = new Uint8Array(1);
    const WRITES = 5_000;
    let at = WRITES;
    for (let i = 0; i < WRITES; i++) {
      await server.write(bytes);
      if (fired) {
        at = i;
        break;
      }
    }
    assert.ok(at < WRITES, `a timer due at once had not run after ${WRITES} awaited writes`);
  } finally {
    draining = false;
    server.close();
    client.close();
    await listener.close();
    await drain;
  }
});
