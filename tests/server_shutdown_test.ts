// Shutdown under load: requests that arrive while the server drains, peers that stop reading,
// and the signal handler. Real sockets, real clients (ours and Go's).
import assert from "node:assert/strict";
import {
  type CallContext,
  Client,
  type ClientOptions,
  ConnectionError,
  FailMode,
  MultipleServersDiscovery,
  SelectMode,
  SerializeType,
  type ServeOptions,
  Server,
  XClient,
} from "@rpcx/core";
import { createMessage, encodeMessage } from "@rpcx/core/protocol";
import { Arith } from "../examples/arith.ts";
import { exited } from "./support/child.ts";
import { bounded, delay, needs, REPO_ROOT, sleep, waitFor } from "./support/env.ts";
import { GO_PEER } from "./support/go_peer.ts";
import { expectRefused, RawConn } from "./support/raw_conn.ts";
import { makeTestCerts, OPENSSL } from "./support/certs.ts";

/** A call a server received: when (performance.now()) and which method. */
interface Seen {
  at: number;
  method: string;
}

/** A server whose `Svc.Slow` (and, once armed, one `Arith.Mul`) is held until released. */
interface SlowServer {
  server: Server;
  addr: string;
  /** Held calls that have started (Slow, and a held Mul). */
  started(): number;
  /** Ends every held call now (and every later one at once). */
  release(): void;
  /** The next `Arith.Mul` is held like Slow (Go's client only calls Arith). */
  holdNextMul(): void;
  /** Requests read from a socket (before the draining check) and calls run (after it). */
  read: Seen[];
  ran: Seen[];
}

/** Longest a held call waits when the test never releases it. */
const HOLD_MS = 10_000;

/**
 * A server with `Svc.Slow` (held until `release()`, cut short by a hard close), `Svc.Who` (its
 * name) and `Arith.Mul`; it records what it reads and what it runs.
 */
async function slowServer(name: string): Promise<SlowServer> {
  let started = 0;
  let holdMul = false;
  const gate = new AbortController();
  const read: Seen[] = [];
  const ran: Seen[] = [];
  const hold = async (ctx: CallContext) => {
    started++;
    await sleep(HOLD_MS, AbortSignal.any([gate.signal, ctx.signal]));
  };
  const server = new Server({
    plugins: [{
      postReadRequest: (req) => {
        if (!req.heartbeat) read.push({ at: performance.now(), method: req.serviceMethod });
      },
    }],
  });
  const seen = (method: string) => ran.push({ at: performance.now(), method });
  await server.register({
    async Slow(_: unknown, ctx: CallContext) {
      seen("Slow");
      await hold(ctx);
      return "slow done";
    },
    Who: () => (seen("Who"), name),
  }, "Svc");
  await server.register({
    async Mul(args: { A: number; B: number }, ctx: CallContext) {
      seen("Mul");
      if (holdMul) {
        holdMul = false;
        await hold(ctx);
      }
      return { C: args.A * args.B };
    },
  }, "Arith");
  const addr = await server.serve("tcp", "127.0.0.1:0");
  return {
    server,
    addr,
    started: () => started,
    release: () => gate.abort(),
    holdNextMul: () => void (holdMul = true),
    read,
    ran,
  };
}

Deno.test("draining: an idle client's call settles at once with a connection error; the in-flight call finishes", async () => {
  const s1 = await slowServer("s1");
  const a = new Client(`tcp@${s1.addr}`);
  const b = new Client(`tcp@${s1.addr}`, { heartbeat: true, heartbeatInterval: 50 });
  try {
    await b.connect();
    const slow = a.call("Svc", "Slow", null).catch((e) => e);
    await waitFor("Slow to start", () => s1.started() === 1);
    const shutdown = s1.server.shutdown({ timeout: 5000 });
    await delay(100);
    const t0 = performance.now();
    const err = await bounded(b.call("Svc", "Who", null).catch((e) => e), 2000, "B's call");
    const took = performance.now() - t0;
    assert.ok(err instanceof ConnectionError, `B's call settled with ${err}`);
    assert.ok(took < 300, `B's call settled after ${took.toFixed(0)} ms`);
    await expectRefused(s1.addr);
    s1.release();
    assert.equal(await bounded(slow, 2000, "Slow"), "slow done", "the in-flight reply arrives");
    await bounded(shutdown, 2000, "shutdown");
  } finally {
    s1.release();
    await a.close();
    await b.close();
    await s1.server.close();
  }
});

Deno.test("draining: heartbeats on a busy connection are answered by the draining server", async () => {
  const s1 = await slowServer("s1");
  const a = new Client(`tcp@${s1.addr}`);
  try {
    const slow = a.call("Svc", "Slow", null).catch((e) => e);
    await waitFor("Slow to start", () => s1.started() === 1);
    const shutdown = s1.server.shutdown({ timeout: 5000 });
    for (let i = 0; i < 3; i++) {
      const rtt = await bounded(a.heartbeat(), 300, `heartbeat ${i} while draining`);
      assert.ok(rtt < 300);
      await delay(100);
    }
    s1.release();
    assert.equal(await bounded(slow, 2000, "Slow"), "slow done");
    await bounded(shutdown, 2000, "shutdown");
  } finally {
    s1.release();
    await a.close();
    await s1.server.close();
  }
});

/** An XClient of `Svc` over [s1, s2], RoundRobin. */
function xclientOver(mode: FailMode, s1: SlowServer, s2: SlowServer, backupLatency?: number) {
  return new XClient(
    "Svc",
    mode,
    SelectMode.RoundRobin,
    new MultipleServersDiscovery([
      { key: `tcp@${s1.addr}`, value: "" },
      { key: `tcp@${s2.addr}`, value: "" },
    ]),
    backupLatency === undefined ? {} : { backupLatency },
  );
}

for (
  const [mode, name] of [[FailMode.Failover, "Failover"], [
    FailMode.Failbackup,
    "Failbackup",
  ]] as const
) {
  Deno.test(`draining: an XClient (${name}) whose connection to the draining S1 is idle gets S2's reply within 500 ms`, async () => {
    const s1 = await slowServer("s1");
    const s2 = await slowServer("s2");
    const a = new Client(`tcp@${s1.addr}`);
    const x = xclientOver(mode, s1, s2);
    try {
      // Both connections open and idle.
      const seen = new Set([await x.call("Who", null), await x.call("Who", null)]);
      assert.deepEqual([...seen].sort(), ["s1", "s2"]);
      const slow = a.call("Svc", "Slow", null).catch((e) => e);
      await waitFor("Slow to start", () => s1.started() === 1);
      const shutdown = s1.server.shutdown({ timeout: 5000 });
      await delay(100);
      for (let i = 0; i < 4; i++) {
        const t0 = performance.now();
        const who = await bounded(x.call("Who", null), 2000, `call ${i}`);
        const took = performance.now() - t0;
        assert.equal(who, "s2");
        assert.ok(took < 500, `call ${i} took ${took.toFixed(0)} ms`);
      }
      s1.release();
      assert.equal(await bounded(slow, 2000, "Slow"), "slow done");
      await bounded(shutdown, 2000, "shutdown");
    } finally {
      s1.release();
      await x.close();
      await a.close();
      await s1.server.close();
      await s2.server.close();
    }
  });
}

// The XClient's own connection to S1 is busy (its Slow call is held) when S1 starts draining: the
// connection stays open for that reply, and the requests the XClient sends on it meanwhile are
// not taken. Failover: each is retried on S2 as soon as S1's connection closes after its last
// reply. Failbackup: the backup on S2 answers it after backupLatency, while S1 still holds it.
for (
  const [mode, name] of [[FailMode.Failover, "Failover"], [
    FailMode.Failbackup,
    "Failbackup",
  ]] as const
) {
  Deno.test(`draining: an XClient (${name}) whose connection to the draining S1 is busy: no new call is taken there; S2 answers them`, async () => {
    const s1 = await slowServer("s1");
    const s2 = await slowServer("s2");
    const x = xclientOver(mode, s1, s2, mode === FailMode.Failbackup ? 200 : undefined);
    try {
      // The XClient's own connections: one held Slow call on each server.
      const slow = x.broadcast<string>("Slow", null).catch((e) => e);
      await waitFor("Slow to start on both", () => s1.started() === 1 && s2.started() === 1);
      const drainAt = performance.now();
      const shutdown = s1.server.shutdown({ timeout: 5000 });
      await expectRefused(s1.addr);
      // Round robin sends half of these to S1's busy connection.
      const answers: string[] = [];
      const whos = Array.from(
        { length: 4 },
        () => x.call<string>("Who", null).then((w) => void answers.push(w)),
      );
      const readOnS1 = () => s1.read.filter((r) => r.at > drainAt && r.method === "Who").length;
      await waitFor("Who requests to reach S1's busy connection", () => readOnS1() >= 1, 2000);
      if (mode === FailMode.Failbackup) {
        // The backups on S2 answer every call while S1 still holds its Slow call.
        await bounded(Promise.all(whos), 1500, "the backups' answers");
        assert.equal(s1.started(), 1, "S1's Slow call is still held");
      } else {
        await delay(300);
        assert.ok(answers.every((w) => w === "s2"), `answers: ${answers}`);
        assert.ok(answers.length < 4, "the calls sent to S1 wait for its connection to close");
      }
      assert.ok(answers.every((w) => w === "s2"), `answers: ${answers}`);
      const ranOnS1 = s1.ran.filter((r) => r.at > drainAt);
      assert.deepEqual(ranOnS1, [], "S1 took no call while draining");
      // S1's held call ends: its reply goes out, the connection closes, and the calls that
      // waited on it move to S2 at once.
      const releasedAt = performance.now();
      s1.release();
      await bounded(Promise.all(whos), 500, "the waiting calls, retried on S2");
      const retried = performance.now() - releasedAt;
      assert.deepEqual(answers, ["s2", "s2", "s2", "s2"]);
      assert.ok(readOnS1() >= 1, "calls were sent on S1's busy connection");
      assert.deepEqual(s1.ran.filter((r) => r.at > drainAt), [], "S1 took no call while draining");
      console.log(
        `${name}: the waiting calls answered by S2 ${retried.toFixed(0)} ms after release`,
      );
      await bounded(shutdown, 2000, "shutdown");
      // Later calls go to S2 at once (S1 refuses connections).
      for (let i = 0; i < 4; i++) {
        const t0 = performance.now();
        assert.equal(await bounded(x.call("Who", null), 2000, `call ${i}`), "s2");
        const took = performance.now() - t0;
        assert.ok(took < 500, `call ${i} after the drain took ${took.toFixed(0)} ms`);
      }
      s2.release();
      assert.deepEqual(await bounded(slow, 2000, "the broadcast"), ["slow done", "slow done"]);
    } finally {
      s1.release();
      s2.release();
      await x.close();
      await s1.server.close();
      await s2.server.close();
    }
  });
}

/**
 * The longest gap between two lines of Go's client (paced 50 ms) that still says "at once": half
 * its 5 s call timeout, which a call left waiting would reach (noise under load: 635 ms seen).
 */
const GAP_MS = 2500;

/** `rpcxpeer client` (Go's Failover XClient, round robin) over [s1, s2], its lines timed. */
function goFailoverClient(s1: SlowServer, s2: SlowServer, extra: string[]) {
  const go = new Deno.Command(GO_PEER!, {
    args: [
      "client",
      "--addr",
      `${s1.addr},${s2.addr}`,
      "--failmode",
      "failover",
      "--selectmode",
      "roundrobin",
      "--timeout",
      "5s",
      ...extra,
    ],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(go.stderr).text();
  const lines: { at: number; text: string }[] = [];
  const reading = (async () => {
    let rest = "";
    for await (const chunk of go.stdout.pipeThrough(new TextDecoderStream())) {
      rest += chunk;
      const parts = rest.split("\n");
      rest = parts.pop()!;
      for (const text of parts) lines.push({ at: performance.now(), text });
    }
  })();
  return {
    lines,
    /** Waits (bounded) for the exit; its code, and all it printed. */
    async end(ms: number): Promise<{ code: number; out: string }> {
      const status = await exited(go, ms, "the Go client");
      await bounded(reading, 5000, "the Go client's stdout");
      const out = `${lines.map((l) => l.text).join("\n")}\n${await stderr}`;
      return { code: status.code, out };
    },
    async stop(): Promise<void> {
      try {
        go.kill("SIGKILL");
      } catch {
        // exited
      }
      await go.status;
      await reading.catch(() => {});
      await stderr.catch(() => {});
    },
  };
}

Deno.test("draining: Go's Failover XClient, its connection to our draining server idle, moves to the other at once", async () => {
  if (!needs("the Go rpcx peer", GO_PEER ? undefined : "run bash .ci/install/50-gopeer.sh")) return;
  const s1 = await slowServer("s1");
  const s2 = await slowServer("s2");
  const a = new Client(`tcp@${s1.addr}`);
  const go = goFailoverClient(s1, s2, ["--count", "30", "--interval", "50ms"]);
  try {
    // Go's client has connections to both servers before the drain starts.
    await waitFor("the Go client's first calls", () => go.lines.length >= 6, 20_000, 10);
    const slow = a.call("Svc", "Slow", null).catch((e) => e);
    await waitFor("Slow to start", () => s1.started() === 1);
    const drainAt = performance.now();
    const shutdown = s1.server.shutdown({ timeout: 5000 });
    const { code, out } = await go.end(20_000);
    assert.equal(code, 0, `Go client failed:\n${out}`);
    assert.equal(go.lines.filter((l) => l.text === "10 * 20 = 200").length, 30);
    // No call during the drain waited for the in-flight call: consecutive results stay close.
    // A call that waited would wait for Go's 5 s call timeout (the held call ends only after the
    // run); under load a Go process's 50 ms-paced lines came 635 ms apart once: bound 2.5 s.
    const during = go.lines.filter((l) => l.at > drainAt);
    assert.ok(during.length > 0, "calls ran during the drain");
    let prev = drainAt;
    for (const l of during) {
      assert.ok(
        l.at - prev < GAP_MS,
        `a call during the drain took ${(l.at - prev).toFixed(0)} ms`,
      );
      prev = l.at;
    }
    s1.release();
    assert.equal(await bounded(slow, 2000, "Slow"), "slow done");
    await bounded(shutdown, 3000, "shutdown");
  } finally {
    s1.release();
    await go.stop();
    await a.close();
    await s1.server.close();
    await s2.server.close();
  }
});

Deno.test("draining: Go's Failover XClient, its own connection to our draining server busy: no new call taken there; they move to the other at once after its reply", async () => {
  if (!needs("the Go rpcx peer", GO_PEER ? undefined : "run bash .ci/install/50-gopeer.sh")) return;
  const s1 = await slowServer("s1");
  const s2 = await slowServer("s2");
  // Four workers share one XClient, so one connection per server.
  const go = goFailoverClient(s1, s2, [
    "--count",
    "60",
    "--concurrency",
    "4",
    "--interval",
    "50ms",
  ]);
  try {
    await waitFor("the Go client's first calls", () => go.lines.length >= 8, 20_000, 10);
    // One of Go's own calls on S1 is held: its connection to S1 is busy.
    s1.holdNextMul();
    await waitFor("a Go call held by S1", () => s1.started() === 1, 5000, 5);
    const drainAt = performance.now();
    const shutdown = s1.server.shutdown({ timeout: 5000 });
    // Go's workers go on sending; those that round robin sends to S1's busy connection wait.
    await waitFor(
      "Go requests on S1's busy connection",
      () => s1.read.some((r) => r.at > drainAt),
      3000,
      10,
    );
    await delay(300);
    assert.deepEqual(s1.ran.filter((r) => r.at > drainAt), [], "S1 took no call while draining");
    const releasedAt = performance.now();
    s1.release();
    const { code, out } = await go.end(20_000);
    assert.equal(code, 0, `Go client failed:\n${out}`);
    assert.equal(go.lines.filter((l) => l.text === "10 * 20 = 200").length, 60, out);
    assert.deepEqual(s1.ran.filter((r) => r.at > drainAt), [], "S1 took no call while draining");
    // After the held reply, S1's connection closes and the waiting calls are answered by S2 at
    // once; the rest of the run keeps its pace (a call left waiting on S1 would end at Go's 5 s
    // call timeout: bound 2.5 s, as above).
    const after = go.lines.filter((l) => l.at > releasedAt);
    assert.ok(after.length > 0, "calls ran after the release");
    let prev = releasedAt;
    for (const l of after) {
      assert.ok(
        l.at - prev < GAP_MS,
        `a call after the release took ${(l.at - prev).toFixed(0)} ms`,
      );
      prev = l.at;
    }
    await bounded(shutdown, 3000, "shutdown");
  } finally {
    s1.release();
    await go.stop();
    await s1.server.close();
    await s2.server.close();
  }
});

/** A request for `Big.Get` in raw bytes: the reply is 32 MiB. */
const bigRequest = (seq: bigint) =>
  encodeMessage(createMessage({
    seq,
    serializeType: SerializeType.SerializeNone,
    servicePath: "Big",
    serviceMethod: "Get",
  }));

async function bigServer(
  options = {},
): Promise<{ server: Server; addr: string; served(): number }> {
  let served = 0;
  // A limit above the reply, else the server sends an error reply instead (limits_test).
  const server = new Server({ maxMessageLength: 64 << 20, ...options });
  await server.register({
    Get: () => {
      served++;
      return new Uint8Array(32 << 20);
    },
  }, "Big");
  await server.register(new Arith(), "Arith");
  const addr = await server.serve("tcp", "127.0.0.1:0");
  return { server, addr, served: () => served };
}

Deno.test("a peer that stops reading cannot hang shutdown: it resolves within timeout + 1 s, the socket is closed", async () => {
  const s = await bigServer();
  const stalled = await RawConn.open(s.addr, { read: false });
  try {
    await stalled.write(bigRequest(1n));
    await waitFor("the 32 MiB reply to be produced", () => s.served() === 1);
    const t0 = performance.now();
    await bounded(s.server.shutdown({ timeout: 500 }), 4000, "shutdown");
    const took = performance.now() - t0;
    assert.ok(took >= 450 && took < 1500, `shutdown took ${took.toFixed(0)} ms`);
    assert.equal(s.server.metrics().activeConnections, 0);
    // The server's end is closed: reading what was sent ends (EOF or reset), never hangs.
    const buf = new Uint8Array(1 << 20);
    const end = await bounded(
      (async () => {
        try {
          while ((await stalled.conn.read(buf)) !== null) { /* drain */ }
          return "eof";
        } catch (e) {
          return (e as Error).name;
        }
      })(),
      5000,
      "reading the stalled socket to its end",
    );
    assert.ok(["eof", "ConnectionReset"].includes(end), end);
  } finally {
    stalled.close();
    await s.server.close();
  }
});

Deno.test("writeTimeout closes a connection whose peer stops reading; others keep being served", async () => {
  const s = await bigServer({ writeTimeout: 300 });
  const stalled = await RawConn.open(s.addr, { read: false });
  const client = new Client(`tcp@${s.addr}`);
  try {
    await stalled.write(bigRequest(1n));
    await waitFor("the 32 MiB reply to be produced", () => s.served() === 1);
    await waitFor(
      "the stalled connection to be closed",
      () => s.server.metrics().activeConnections === 0,
      3000,
      20,
    );
    assert.deepEqual(await client.call("Arith", "Mul", { A: 6, B: 7 }), { C: 42 });
  } finally {
    stalled.close();
    await client.close();
    await s.server.close();
  }
});

Deno.test("shutdownOnSignals: SIGTERM with a peer that stops reading still exits within timeout + 1 s", async () => {
  const script = `
    import { Server } from "${REPO_ROOT}/mod.ts";
    const server = new Server({ maxMessageLength: 64 << 20 });
    let served = 0;
    await server.register({ Get: () => { served++; console.log("SERVED"); return new Uint8Array(32 << 20); } }, "Big");
    server.shutdownOnSignals({ timeout: 500 });
    console.log("LISTENING " + await server.serve("tcp", "127.0.0.1:0"));
  `;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", "--ext=ts", script],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const out = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  let stalled: RawConn | undefined;
  try {
    while (!/LISTENING \S+\n/.test(text)) {
      const { value, done } = await bounded(out.read(), 20_000, "the server to start");
      if (done) throw new Error(`server exited: ${text}`);
      text += value;
    }
    stalled = await RawConn.open(text.match(/LISTENING (\S+)/)![1], { read: false });
    await stalled.write(bigRequest(1n));
    while (!text.includes("SERVED")) {
      const { value, done } = await bounded(out.read(), 5000, "the reply to be produced");
      if (done) throw new Error(`server exited: ${text}`);
      text += value;
    }
    const t0 = performance.now();
    child.kill("SIGTERM");
    const status = await bounded(child.status, 4000, "the process to exit");
    const took = performance.now() - t0;
    assert.equal(status.code, 0);
    assert.ok(took < 1500, `exited after ${took.toFixed(0)} ms`);
  } finally {
    stalled?.close();
    try {
      child.kill("SIGKILL");
    } catch {
      // exited
    }
    await child.status;
    await out.cancel().catch(() => {});
  }
});

Deno.test("serve again on the same address right after shutdown() or close() resolved, five times, on every network (tcp, tls, mutual TLS, unix, http, ws, wss, reusePort)", async () => {
  if (!needs("openssl", OPENSSL ? undefined : "not on PATH")) return;
  const k = await makeTestCerts();
  const dir = await Deno.makeTempDir({ prefix: "rpcx-reserve-" });
  const tls = { certChain: k.server.cert, privateKey: k.server.key };
  const mtls = { ...tls, caCerts: [k.ca], requireClientCert: true };
  const cases: { name: string; network: string; serve: ServeOptions; client: ClientOptions }[] = [
    { name: "tcp", network: "tcp", serve: {}, client: {} },
    { name: "tcp+tls", network: "tcp", serve: { tls }, client: { tls: { caCerts: [k.ca] } } },
    {
      name: "tcp+mtls",
      network: "tcp",
      serve: { tls: mtls },
      client: { tls: { caCerts: [k.ca], certChain: k.client.cert, privateKey: k.client.key } },
    },
    { name: "unix", network: "unix", serve: {}, client: {} },
    { name: "http", network: "http", serve: {}, client: {} },
    { name: "ws", network: "ws", serve: {}, client: {} },
    { name: "wss", network: "wss", serve: { tls }, client: { tls: { caCerts: [k.ca] } } },
    { name: "tcp+reusePort", network: "tcp", serve: { reusePort: true }, client: {} },
  ];
  try {
    for (const c of cases) {
      let address = c.network === "unix" ? `${dir}/${c.name}.sock` : "127.0.0.1:0";
      for (let round = 0; round < 5; round++) {
        const server = new Server();
        await server.register(new Arith(), "Arith");
        // Must not fail with AddrInUse: the previous server's shutdown() resolved.
        address = await server.serve(c.network, address, c.serve).catch((e) => {
          throw new Error(`${c.name} round ${round}: serve again on ${address}: ${e}`);
        });
        // A client connected while it shuts down (its connection is accepted and open).
        const client = new Client(`${c.network}@${address}`, c.client);
        try {
          assert.deepEqual(await client.call("Arith", "Mul", { A: round, B: 2 }), {
            C: round * 2,
          });
          await bounded(
            round % 2 ? server.close() : server.shutdown({ timeout: 2000 }),
            5000,
            `${c.name} round ${round}: shutdown`,
          );
        } finally {
          await client.close();
          await server.close();
        }
      }
    }
  } finally {
    await k.remove();
    await Deno.remove(dir, { recursive: true });
  }
});
