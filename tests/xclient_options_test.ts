// Go rpcx client options and calls we match (issue 29): Sticky, RetryInterval, Inform,
// IdleTimeout, TCPKeepAlivePeriod and TLS InsecureSkipVerify — over real sockets, our servers and
// the Go rpcx peer.
import assert from "node:assert/strict";
import {
  CallAbortedError,
  type CallContext,
  CallTimeoutError,
  Client,
  ClientClosedError,
  ConnectionError,
  FailMode,
  type LogFields,
  type Logger,
  MetadataKeys,
  MultipleServersDiscovery,
  NoServerAvailableError,
  Peer2PeerDiscovery,
  SelectMode,
  Server,
  ServiceError,
  setLogger,
  TlsHandshakeError,
  XClient,
} from "@rpcx/core";
import { bounded, delay, findExecutable, freePort, needs, sleep, waitFor } from "./support/env.ts";
import { needGoPeer, startGoServer } from "./support/go_peer.ts";
import { makeTestCerts, OPENSSL } from "./support/certs.ts";

/** A server of "Svc" (and "Arith") whose connections and calls are counted. */
async function serve(
  name: string,
  opts: { port?: number; slowMs?: number; fail?: boolean } = {},
): Promise<{ server: Server; key: string; calls: () => number; conns: () => number }> {
  let calls = 0;
  let conns = 0;
  const server = new Server({ plugins: [{ connAccept: () => void conns++ }] });
  const service = {
    Who: async (_: unknown, ctx: CallContext) => {
      calls++;
      if (opts.slowMs) await sleep(opts.slowMs, ctx.signal);
      return name;
    },
    Mul: async (a: { A: number; B: number }, ctx: CallContext) => {
      calls++;
      if (opts.slowMs) await sleep(opts.slowMs, ctx.signal);
      if (opts.fail) throw new Error(`${name}: nope`);
      return { C: a.A * a.B };
    },
  };
  await server.register(service, "Svc");
  await server.register(service, "Arith");
  const key = `tcp@${await server.serve("tcp", `127.0.0.1:${opts.port ?? 0}`)}`;
  return { server, key, calls: () => calls, conns: () => conns };
}

/** The server that answered (`__ServerAddress`), as a key. */
async function whoAnswers(x: XClient, method = "Meta"): Promise<string> {
  const replyMetadata: Record<string, string> = {};
  await x.call(method, { Data: "" }, { replyMetadata, timeout: 3000 });
  return `tcp@${replyMetadata[MetadataKeys.ServerAddress]}`;
}

Deno.test("sticky (Go's Option.Sticky) with two Go servers: every call stays on the first server chosen, through service errors, until a try on it fails; without it RandomSelect uses both", async () => {
  if (!needGoPeer()) return;
  const gos = [
    await startGoServer(undefined, ["--services", "Echo"]),
    await startGoServer(undefined, ["--services", "Echo"]),
  ];
  const pairs = gos.map((g) => ({ key: g.key, value: "" }));
  const sticky = new XClient(
    "Echo",
    FailMode.Failover,
    SelectMode.RandomSelect,
    new MultipleServersDiscovery(pairs),
    { sticky: true },
  );
  const loose = new XClient(
    "Echo",
    FailMode.Failover,
    SelectMode.RandomSelect,
    new MultipleServersDiscovery(pairs),
  );
  try {
    const seen = new Set<string>();
    for (let i = 0; i < 20; i++) seen.add(await whoAnswers(loose));
    assert.equal(seen.size, 2, "RandomSelect without sticky uses both servers");

    const first = await whoAnswers(sticky);
    for (let i = 0; i < 20; i++) assert.equal(await whoAnswers(sticky), first);
    // A service error is no reason to move (Go's uncoverError).
    await assert.rejects(sticky.call("Fail", {}), /deliberate failure/);
    for (let i = 0; i < 5; i++) assert.equal(await whoAnswers(sticky), first);

    // The sticky server goes away: the next try on it fails, Failover moves, and calls stay on
    // the new one.
    const dead = gos.find((g) => g.key === first)!;
    await dead.kill("SIGKILL");
    const other = gos.find((g) => g.key !== first)!.key;
    for (let i = 0; i < 10; i++) assert.equal(await whoAnswers(sticky), other);
  } finally {
    await sticky.close();
    await loose.close();
    for (const g of gos) await g.stop();
  }
});

Deno.test("sticky: a server leaving the list unsticks; a backup request (Failbackup) does not move the sticky server", async () => {
  const a = await serve("a");
  const b = await serve("b");
  const d = new MultipleServersDiscovery([{ key: a.key, value: "" }, { key: b.key, value: "" }]);
  const x = new XClient("Svc", FailMode.Failover, SelectMode.RoundRobin, d, { sticky: true });
  try {
    const first = await x.call<string>("Who", null);
    for (let i = 0; i < 5; i++) assert.equal(await x.call("Who", null), first);
    const stay = first === "a" ? b : a;
    d.update([{ key: stay.key, value: "" }]);
    const now = await x.call<string>("Who", null);
    assert.notEqual(now, first);
    d.update([{ key: a.key, value: "" }, { key: b.key, value: "" }]);
    for (let i = 0; i < 5; i++) assert.equal(await x.call("Who", null), now);
  } finally {
    await x.close();
  }
  // Failbackup: the sticky server is slow; each call's backup goes to the other, and the sticky
  // one stays chosen (it did not fail).
  const slow = await serve("slow", { slowMs: 300 });
  const fast = await serve("fast");
  const fb = new XClient(
    "Svc",
    FailMode.Failbackup,
    SelectMode.SelectByUser,
    new MultipleServersDiscovery([{ key: slow.key, value: "" }, { key: fast.key, value: "" }]),
    {
      sticky: true,
      backupLatency: 20,
      // Chooses slow whenever asked: once only, as the choice sticks.
      selector: { select: () => slow.key, update: () => {} },
    },
  );
  try {
    for (let i = 0; i < 4; i++) assert.equal(await fb.call("Who", null, { timeout: 2000 }), "fast");
    assert.equal(slow.calls(), 4, "each call went to the sticky server first");
    assert.equal(fast.calls(), 4);
  } finally {
    await fb.close();
    for (const n of [a, b, slow, fast]) await n.server.close();
  }
});

Deno.test("retryInterval (Go's Option.RetryInterval): Failtry pauses between tries, so a server that comes up meanwhile answers; without it the tries are spent at once", async () => {
  const port = freePort();
  const key = `tcp@127.0.0.1:${port}`;
  const opts = { retries: 3, retryBackoff: 1 };
  const eager = new XClient(
    "Svc",
    FailMode.Failtry,
    SelectMode.RandomSelect,
    new Peer2PeerDiscovery(key),
    opts,
  );
  const patient = new XClient(
    "Svc",
    FailMode.Failtry,
    SelectMode.RandomSelect,
    new Peer2PeerDiscovery(key),
    { ...opts, retryInterval: 250 },
  );
  let node: Awaited<ReturnType<typeof serve>> | undefined;
  try {
    let t0 = Date.now();
    await assert.rejects(eager.call("Who", null), ConnectionError);
    assert.ok(
      Date.now() - t0 < 200,
      `without retryInterval the 4 tries take ${Date.now() - t0} ms`,
    );

    t0 = Date.now();
    const call = patient.call<string>("Who", null);
    call.catch(() => {}); // awaited below; a rejection meanwhile is the test's failure there
    await delay(100);
    node = await serve("late", { port });
    assert.equal(await bounded(call, 5000, "the patient call"), "late");
    const took = Date.now() - t0;
    assert.ok(took >= 240, `answered after the pause (${took} ms)`);
  } finally {
    await eager.close();
    await patient.close();
    await node?.server.close();
  }
});

Deno.test("retryInterval: the pauses count in the call's timeout (no time for a pause and a try: the last error at once); close() and the signal end a pause at once", async () => {
  const key = `tcp@127.0.0.1:${freePort()}`;
  const other = `tcp@127.0.0.1:${freePort()}`;
  const d = () => new MultipleServersDiscovery([{ key, value: "" }, { key: other, value: "" }]);
  // The pauses are long beside what load adds to a timer (a 50 ms abort fired at 162 ms once,
  // with a 150 ms pause: failed 1 run in 15 under load), so "at once" and "after the pause" stay
  // apart by hundreds of ms.
  const x = new XClient("Svc", FailMode.Failover, SelectMode.RoundRobin, d(), {
    retries: 5,
    retryInterval: 1000,
  });
  const y = new XClient("Svc", FailMode.Failover, SelectMode.RoundRobin, d(), {
    retries: 5,
    retryInterval: 10_000,
  });
  try {
    let t0 = Date.now();
    // 1st try, pause 1000, 2nd try, then < 1000 ms left: fails with the transport error at once
    // (not at the timeout, 1600 ms).
    await assert.rejects(x.call("Who", null, { timeout: 1600 }), ConnectionError);
    let took = Date.now() - t0;
    assert.ok(took >= 990 && took < 1500, `failed after one pause (${took} ms)`);

    // A pause of 10 s, ended by the signal (at 200 ms: the refused first try is over by then).
    const ac = new AbortController();
    t0 = Date.now();
    const aborted = y.call("Who", null, { signal: ac.signal });
    setTimeout(() => ac.abort(new Error("stop")), 200);
    await assert.rejects(aborted, CallAbortedError);
    took = Date.now() - t0;
    assert.ok(took < 5000, `the signal ended the pause (${took} ms)`);

    t0 = Date.now();
    const closing = y.call("Who", null);
    setTimeout(() => y.close(), 200);
    await assert.rejects(closing, ClientClosedError);
    took = Date.now() - t0;
    assert.ok(took < 5000, `close() ended the pause (${took} ms)`);
  } finally {
    await x.close();
    await y.close();
  }
});

Deno.test("inform (Go's XClient.Inform): a receipt per server — address, reply or error — from a Go server, a failing one, a refused one and one past the timeout", async () => {
  if (!needGoPeer()) return;
  const go = await startGoServer(undefined, ["--services", "Arith"]);
  const failing = await serve("failing", { fail: true });
  const slow = await serve("slow", { slowMs: 3000 });
  const dead = `tcp@127.0.0.1:${freePort()}`;
  const keys = [go.key, failing.key, dead, slow.key];
  const x = new XClient(
    "Arith",
    FailMode.Failfast,
    SelectMode.RandomSelect,
    new MultipleServersDiscovery(keys.map((key) => ({ key, value: "" }))),
  );
  try {
    const t0 = Date.now();
    const receipts = await x.inform<{ C: number }>("Mul", { A: 2, B: 3 }, { timeout: 400 });
    assert.ok(Date.now() - t0 < 2000, "bounded by the timeout");
    assert.deepEqual(receipts.map((r) => r.address), keys.map((k) => k.slice("tcp@".length)));
    assert.deepEqual(receipts[0], { address: go.key.slice(4), reply: { C: 6 } });
    assert.ok(receipts[1].error instanceof ServiceError, `${receipts[1].error}`);
    assert.match((receipts[1].error as Error).message, /failing: nope/);
    assert.ok(receipts[2].error instanceof ConnectionError, `${receipts[2].error}`);
    assert.ok(receipts[3].error instanceof CallTimeoutError, `${receipts[3].error}`);
    assert.equal((receipts[3].error as CallTimeoutError).timeout, 400);
    for (const r of receipts.slice(1)) assert.equal(r.reply, undefined);
    // Broadcast, for contrast, only says the first error.
    await assert.rejects(x.broadcast("Mul", { A: 2, B: 3 }, { timeout: 400 }));
  } finally {
    await x.close();
    await go.stop();
    await failing.server.close();
    await slow.server.close();
  }
  const none = new XClient(
    "Arith",
    FailMode.Failfast,
    SelectMode.RandomSelect,
    new MultipleServersDiscovery([]),
    { discoveryTimeout: 50 },
  );
  await assert.rejects(none.inform("Mul", {}), NoServerAvailableError);
  await none.close();
  await assert.rejects(none.inform("Mul", {}), ClientClosedError);
});

Deno.test("idleTimeout (Go's Option.IdleTimeout): a connection unused that long is closed and reopened on the next call; a call waiting longer than it is not cut", async () => {
  const n = await serve("n", { slowMs: 0 });
  const slow = await serve("slow", { slowMs: 500 });
  const idle = new Client(n.key, { idleTimeout: 200 });
  const kept = new Client(n.key);
  const patient = new Client(slow.key, { idleTimeout: 150 });
  try {
    assert.equal(await idle.call("Svc", "Who", null), "n");
    assert.equal(await kept.call("Svc", "Who", null), "n");
    const t0 = Date.now();
    await waitFor("the idle connection to close", () => !idle.isConnected, 3000, 10);
    const took = Date.now() - t0;
    assert.ok(took >= 180 && took < 1000, `closed after ${took} ms idle`);
    assert.ok(kept.isConnected, "without idleTimeout the connection stays");
    await waitFor(
      "the server to see it close",
      () => n.server.activeClientConn().length === 1,
      3000,
    );
    // Reopened on demand.
    assert.equal(await idle.call("Svc", "Who", null), "n");
    assert.equal(n.conns(), 3);
    // A call that waits 500 ms with idleTimeout 150 is answered.
    assert.equal(await patient.call("Svc", "Who", null), "slow");
  } finally {
    await idle.close();
    await kept.close();
    await patient.close();
    await n.server.close();
    await slow.server.close();
  }
});

Deno.test("idleTimeout with the Go peer through an XClient: a long call is answered, the idle connection goes, the next call dials again", async () => {
  if (!needGoPeer()) return;
  const go = await startGoServer(undefined, ["--services", "Echo"]);
  const x = new XClient(
    "Echo",
    FailMode.Failfast,
    SelectMode.RandomSelect,
    new Peer2PeerDiscovery(go.key),
    { idleTimeout: 150 },
  );
  let closes = 0;
  const watched = new XClient(
    "Echo",
    FailMode.Failfast,
    SelectMode.RandomSelect,
    new Peer2PeerDiscovery(go.key),
    {
      idleTimeout: 150,
      plugins: [{ connClose: () => void closes++ }],
    },
  );
  try {
    assert.deepEqual(await x.call("Delay", { Ms: 400, Tag: 1 }, { timeout: 3000 }), {
      Ms: 400,
      Tag: 1,
    });
    await watched.call("Delay", { Ms: 0, Tag: 2 });
    await waitFor("the idle connection to close", () => closes === 1, 3000, 10);
    assert.deepEqual(await watched.call("Delay", { Ms: 0, Tag: 3 }), { Ms: 0, Tag: 3 });
  } finally {
    await x.close();
    await watched.close();
    await go.stop();
  }
});

const SS = findExecutable("ss");

/** The keep-alive timer of the client side of the connection to `port`, in seconds, if any. */
async function keepAliveTimer(port: number): Promise<number | undefined> {
  const out = await new Deno.Command(SS!, {
    args: ["-tnoH", "state", "established", "dport", `= :${port}`],
    stdout: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assert.ok(text.trim() !== "", `ss lists the connection to ${port}`);
  const m = /timer:\(keepalive,([\d.]+)(ms|sec|min)/.exec(text);
  if (!m) return undefined;
  const v = Number(m[1]);
  return m[2] === "min" ? v * 60 : m[2] === "ms" && v >= 100 ? v / 1000 : v;
}

Deno.test("tcpKeepAlivePeriod (Go's Option.TCPKeepAlivePeriod): the client's TCP connection probes after that idle time (plain and TLS); 0 turns keep-alive off", async () => {
  if (!needs("ss (iproute2)", SS ? undefined : "not on PATH")) return;
  if (!needs("openssl", OPENSSL ? undefined : "not on PATH")) return;
  const certs = await makeTestCerts();
  const plain = await serve("plain");
  const tlsServer = new Server({
    tls: { certChain: certs.server.cert, privateKey: certs.server.key },
  });
  await tlsServer.register({ Who: () => "tls" }, "Svc");
  const tlsAddr = await tlsServer.serve("tcp", "127.0.0.1:0");
  const port = (key: string) => Number(key.slice(key.lastIndexOf(":") + 1));
  const clients: Client[] = [];
  try {
    const check = async (key: string, options: ConstructorParameters<typeof Client>[1]) => {
      const c = new Client(key, options);
      clients.push(c);
      await c.call("Svc", "Who", null);
      const t = await keepAliveTimer(port(key));
      await c.close();
      return t;
    };
    const period = await check(plain.key, { tcpKeepAlivePeriod: 30_000 });
    assert.ok(
      period !== undefined && period > 20 && period <= 30,
      `plain: probes after ${period} s`,
    );
    const tlsPeriod = await check(`tcp@${tlsAddr}`, {
      tcpKeepAlivePeriod: 30_000,
      tls: { caCerts: [certs.ca] },
    });
    assert.ok(tlsPeriod !== undefined && tlsPeriod > 20 && tlsPeriod <= 30, `TLS: ${tlsPeriod} s`);
    // Default: keep-alive on, the system's period (longer than 30 s).
    const system = await check(plain.key, {});
    assert.ok(system !== undefined && system > 60, `default: the system's period (${system} s)`);
    assert.equal(await check(plain.key, { tcpKeepAlivePeriod: 0 }), undefined, "0: off");
  } finally {
    for (const c of clients) await c.close();
    await plain.server.close();
    await tlsServer.close();
    await certs.remove();
  }
});

class Capture implements Logger {
  readonly warnings: { msg: string; fields?: LogFields }[] = [];
  debug(): void {}
  info(): void {}
  warn(msg: string, fields?: LogFields): void {
    this.warnings.push({ msg, fields });
  }
  error(): void {}
}

Deno.test("tls.insecureSkipVerify (Go's tls.Config{InsecureSkipVerify: true}, rpcx-examples tls): a certificate no CA vouches for is accepted, with one warning; without it the dial fails (ours and Go's TLS server)", async () => {
  if (!needs("openssl", OPENSSL ? undefined : "not on PATH")) return;
  if (!needGoPeer()) return;
  const certs = await makeTestCerts();
  // Signed by a CA the client does not trust.
  const server = new Server({
    tls: { certChain: certs.rogueServer.cert, privateKey: certs.rogueServer.key },
  });
  await server.register({ Mul: (a: { A: number; B: number }) => ({ C: a.A * a.B }) }, "Arith");
  const ours = `tcp@${await server.serve("tcp", "127.0.0.1:0")}`;
  const go = await startGoServer(undefined, [
    "--services",
    "Arith",
    "--tls-cert",
    certs.rogueServer.certPath,
    "--tls-key",
    certs.rogueServer.keyPath,
  ]);
  const capture = new Capture();
  const previous = setLogger(capture);
  try {
    for (const key of [ours, go.key]) {
      const strict = new XClient(
        "Arith",
        FailMode.Failtry,
        SelectMode.RandomSelect,
        new Peer2PeerDiscovery(key),
        {
          tls: { caCerts: [certs.ca] },
          retries: 0,
        },
      );
      const e = await strict.call("Mul", { A: 1, B: 1 }, { timeout: 3000 }).catch((e) => e);
      await strict.close();
      assert.ok(
        e instanceof ConnectionError && e.cause instanceof TlsHandshakeError,
        `${key}: ${e}`,
      );

      const insecure = new XClient(
        "Arith",
        FailMode.Failtry,
        SelectMode.RandomSelect,
        new Peer2PeerDiscovery(key),
        {
          tls: { insecureSkipVerify: true },
        },
      );
      try {
        assert.deepEqual(await insecure.call("Mul", { A: 10, B: 20 }, { timeout: 3000 }), {
          C: 200,
        });
      } finally {
        await insecure.close();
      }
    }
    const insecureWarnings = capture.warnings.filter((w) => /insecureSkipVerify/.test(w.msg));
    assert.equal(insecureWarnings.length, 1, "warned once per process");
  } finally {
    setLogger(previous);
    await server.close();
    await go.stop();
    await certs.remove();
  }
});
