// Every network, Deno to Deno: tcp, tcp with TLS and mutual TLS, unix, http (CONNECT), ws, wss;
// calls, heartbeats, oneway, gzip, 1 MiB, 1000 in flight; typed errors for refused dials, wrong
// certificates and plain TCP on a TLS port, with the server serving others throughout; a network
// of one's own in a NetworkRegistry.
import assert from "node:assert/strict";
import { connect as netConnect } from "node:net";
import {
  Client,
  type ClientOptions,
  CompressType,
  ConnectionError,
  ConnectionRefusedError,
  DialTimeoutError,
  PeerGoneError,
  RpcxError,
  SerializeType,
  type ServeOptions,
  type Server,
  SocketError,
  TlsHandshakeError,
  UnsupportedNetworkError,
  UpgradeError,
} from "@rpcx/core";
import {
  type Connection,
  defaultNetworks,
  type Listener,
  NetworkRegistry,
  tcpNetwork,
} from "@rpcx/core/extend";
import { runBounded } from "./support/child.ts";
import { bounded, delay, needs, waitFor } from "./support/env.ts";
import { createMessage, encodeMessage, FrameDecoder } from "@rpcx/core/protocol";
import { interopServer } from "./support/echo_service.ts";
import { OPENSSL } from "./support/certs.ts";
import { address, type Case, CASES, getCerts } from "./support/interop_networks.ts";
import { denoRuntime, nodeRuntime, type Runtime, setRuntime } from "../src/runtime/mod.ts";
import { handOverOf } from "../src/transport/_hand_over.ts";
import { nodeSockets } from "../src/adapter/node/sockets.ts";

const listenAddress = address;

/** Server and client options for a case. */
async function tlsFor(c: Case): Promise<{ serve: ServeOptions; client: ClientOptions }> {
  if (!c.tls) return { serve: {}, client: {} };
  const k = await getCerts();
  const serve: ServeOptions = {
    tls: {
      certChain: k.server.cert,
      privateKey: k.server.key,
      ...(c.tls === "mtls" ? { caCerts: [k.ca], requireClientCert: true } : {}),
    },
  };
  const client: ClientOptions = {
    tls: {
      caCerts: [k.ca],
      ...(c.tls === "mtls" ? { certChain: k.client.cert, privateKey: k.client.key } : {}),
    },
  };
  return { serve, client };
}

async function serveCase(c: Case): Promise<{ server: Server; key: string; opts: ClientOptions }> {
  const { serve, client } = await tlsFor(c);
  const server = await interopServer();
  const bound = await server.serve(c.network, await listenAddress(c), serve);
  return { server, key: `${c.network}@${bound}`, opts: client };
}

/**
 * The adapters whose sockets the tests run on: Deno's (the one in use here) and Node's (the one
 * Node and Bun use; here on Deno's Node layer). `runtime().sockets` is read at each dial and
 * listen, so a test sets it for its own run.
 */
const SOCKETS: Runtime[] = [denoRuntime, nodeRuntime];

/** Runs `fn` with `rt`'s sockets in use; then detection again. */
async function using<T>(rt: Runtime, fn: () => Promise<T>): Promise<T> {
  setRuntime(rt);
  try {
    return await fn();
  } finally {
    setRuntime(undefined);
  }
}

for (const rt of SOCKETS) {
  for (const c of CASES) {
    Deno.test(`network ${c.name} (${rt.name} sockets): calls, heartbeat, oneway, gzip, 1 MiB, 1000 in flight`, async () => {
      if (c.tls && !needs("openssl", OPENSSL ? undefined : "not on PATH")) return;
      await using(rt, async () => {
        const { server, key, opts } = await serveCase(c);
        const client = new Client(key, {
          ...opts,
          connectTimeout: 10_000,
          heartbeat: true,
          heartbeatInterval: 50,
        });
        try {
          assert.deepEqual(await client.call("Arith", "Mul", { A: 10, B: 20 }), { C: 200 });
          const answered = () => client.call<{ Count: number }>("Echo", "Heartbeats", {});
          const before = (await answered()).Count;
          const rtt = await client.heartbeat({ timeout: 1000 });
          assert.ok(Number.isFinite(rtt) && rtt >= 0 && rtt < 1000, `heartbeat rtt ${rtt} ms`);
          assert.ok((await answered()).Count > before, "the server answered the heartbeat");
          await client.send("Echo", "Note", { Text: `via ${c.name}` });
          assert.deepEqual(await client.call("Echo", "Notes", {}), {
            Count: 1,
            Last: `via ${c.name}`,
          });
          const data = "x".repeat(9000);
          const big = await client.call("Echo", "Big", { Data: data }, {
            compressType: CompressType.Gzip,
            replyMetadata: {},
          });
          assert.deepEqual(big, { Data: data });
          const mib = crypto.getRandomValues(new Uint8Array(1 << 16));
          const payload = new Uint8Array(1 << 20);
          for (let o = 0; o < payload.length; o += mib.length) payload.set(mib, o);
          const echoed = await client.call<Uint8Array>("Echo", "Bytes", payload, {
            serializeType: SerializeType.SerializeNone,
          });
          assert.deepEqual(echoed, payload);
          const many = await bounded(
            Promise.all(
              Array.from(
                { length: 1000 },
                (_, i) => client.call<{ Tag: number }>("Echo", "Delay", { Ms: 20, Tag: i }),
              ),
            ),
            20_000,
            "1000 calls in flight",
          );
          assert.deepEqual(many.map((r) => r.Tag), Array.from({ length: 1000 }, (_, i) => i));
          assert.ok(client.isConnected, "heartbeats kept the connection");
        } finally {
          await client.close();
          await server.close();
        }
      });
    });
  }
}

Deno.test("TLS: a wrong certificate and plain TCP on a TLS port get typed errors; the server serves on", async () => {
  if (!needs("openssl", OPENSSL ? undefined : "not on PATH")) return;
  const k = await getCerts();
  const server = await interopServer();
  const good = { tls: { caCerts: [k.ca] } };
  const addr = await server.serve("tcp", "127.0.0.1:0", {
    tls: { certChain: k.server.cert, privateKey: k.server.key },
  });
  const ok = new Client(`tcp@${addr}`, good);
  const rogue = new Client(`tcp@${addr}`, { tls: { caCerts: [k.rogueCa] } });
  const plain = new Client(`tcp@${addr}`);
  try {
    assert.deepEqual(await ok.call("Arith", "Mul", { A: 2, B: 3 }), { C: 6 });
    await assert.rejects(rogue.call("Arith", "Mul", { A: 1, B: 1 }), (e) => {
      assert.ok(e instanceof ConnectionError, String(e));
      assert.ok(e.cause instanceof TlsHandshakeError, `cause ${e.cause}`);
      return true;
    });
    const err = await bounded(
      plain.call("Arith", "Mul", { A: 1, B: 1 }, { timeout: 3000 }).catch((e) => e),
      5000,
      "plain TCP call on a TLS port",
    );
    assert.ok(err instanceof ConnectionError, `plain TCP got ${err}`);
    assert.deepEqual(await ok.call("Arith", "Mul", { A: 3, B: 3 }), { C: 9 }, "still serving");
  } finally {
    await ok.close();
    await rogue.close();
    await plain.close();
    await server.close();
  }
});

Deno.test("TLS: a server with a certificate from another CA is refused by the client", async () => {
  if (!needs("openssl", OPENSSL ? undefined : "not on PATH")) return;
  const k = await getCerts();
  const server = await interopServer();
  const addr = await server.serve("tcp", "127.0.0.1:0", {
    tls: { certChain: k.rogueServer.cert, privateKey: k.rogueServer.key },
  });
  const client = new Client(`tcp@${addr}`, { tls: { caCerts: [k.ca] } });
  try {
    await assert.rejects(client.call("Arith", "Mul", { A: 1, B: 1 }), (e) => {
      assert.ok(e instanceof ConnectionError && e.cause instanceof TlsHandshakeError, String(e));
      return true;
    });
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("mutual TLS: a client without a certificate is refused; one with it is served", async () => {
  if (!needs("openssl", OPENSSL ? undefined : "not on PATH")) return;
  const k = await getCerts();
  const server = await interopServer();
  const addr = await server.serve("tcp", "127.0.0.1:0", {
    tls: {
      certChain: k.server.cert,
      privateKey: k.server.key,
      caCerts: [k.ca],
      requireClientCert: true,
    },
  });
  const anonymous = new Client(`tcp@${addr}`, { tls: { caCerts: [k.ca] } });
  const known = new Client(`tcp@${addr}`, {
    tls: { caCerts: [k.ca], certChain: k.client.cert, privateKey: k.client.key },
  });
  try {
    const err = await bounded(
      anonymous.call("Arith", "Mul", { A: 1, B: 1 }, { timeout: 3000 }).catch((e) => e),
      5000,
      "anonymous call",
    );
    assert.ok(err instanceof ConnectionError, `anonymous got ${err}`);
    assert.deepEqual(await known.call("Arith", "Mul", { A: 4, B: 5 }), { C: 20 });
  } finally {
    await anonymous.close();
    await known.close();
    await server.close();
  }
});

Deno.test("refused dials are typed: tcp port closed, unix path missing", async () => {
  const l = await tcpNetwork.listen("127.0.0.1:0");
  const closedAddr = l.address;
  l.close();
  for (const key of [`tcp@${closedAddr}`, `unix@/tmp/rpcx-no-such-${crypto.randomUUID()}.sock`]) {
    const client = new Client(key);
    try {
      await assert.rejects(client.call("Arith", "Mul", {}), (e) => {
        assert.ok(e instanceof ConnectionError, String(e));
        assert.ok(e.cause instanceof ConnectionRefusedError, `${key}: cause ${e.cause}`);
        return true;
      });
    } finally {
      await client.close();
    }
  }
});

/** A loopback black hole (see `blackHole`). */
interface Hole {
  readonly port: number;
  /**
   * Lets the accept queue drain: the fillers are closed and the listener accepts (into
   * `accepted`); waits (5 s) for the probe's connection and closes it.
   */
  drain(): Promise<void>;
  /** The connections accepted since `drain`. */
  readonly accepted: Deno.Conn[];
  /** How many connections filled the queue. */
  readonly filled: number;
  /**
   * Each accepted connection's far end closes (EOF or reset, within 3 s each); then the
   * listener stops accepting.
   */
  assertAcceptedClosed(): Promise<void>;
  /** Closes every socket of it (the probe's within 10 s). Safe after the others. */
  close(): Promise<void>;
}

/**
 * A loopback black hole: a listener with a backlog of 0 that never accepts, its accept queue
 * filled, so the kernel drops further SYNs and a dial waits without an answer (no outside
 * address needed), until `drain`.
 */
async function blackHole(): Promise<Hole> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0, tcpBacklog: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const fillers: Deno.Conn[] = [];
  for (let i = 0; i < 8; i++) {
    const probe = Deno.connect({ hostname: "127.0.0.1", port });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const done = await Promise.race([
      probe,
      new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), 300))),
    ]);
    clearTimeout(timer);
    if (done === undefined) return holeOf(listener, port, fillers, probe);
    fillers.push(done);
  }
  listener.close();
  for (const c of fillers) c.close();
  throw new Error("the accept queue never filled: no black hole on this kernel");
}

function holeOf(
  listener: Deno.TcpListener,
  port: number,
  fillers: Deno.Conn[],
  blocked: Promise<Deno.Conn>,
): Hole {
  const accepted: Deno.Conn[] = [];
  let accepting: Promise<void> | undefined;
  const closeListener = () => {
    try {
      listener.close();
    } catch {
      // closed
    }
  };
  return {
    port,
    accepted,
    filled: fillers.length,
    async drain() {
      for (const c of fillers) c.close();
      accepting = (async () => {
        for await (const c of listener) accepted.push(c);
      })();
      (await bounded(blocked, 5000, "the probe's connection")).close();
    },
    async assertAcceptedClosed() {
      const buf = new Uint8Array(64);
      for (const c of accepted) {
        const end = await bounded(
          c.read(buf).then((n) => n === null ? "closed" : `${n} bytes`, () => "reset"),
          3000,
          "the far end of an accepted connection to close",
        );
        assert.ok(["closed", "reset"].includes(end), end);
      }
      listener.close();
      await accepting?.catch(() => {});
    },
    async close() {
      for (const c of [...fillers, ...accepted]) {
        try {
          c.close();
        } catch {
          // closed
        }
      }
      closeListener();
      await bounded(blocked.then((c) => c.close(), () => {}), 10_000, "the probe").catch(
        () => {},
      );
    },
  };
}

Deno.test("a dial that gets no answer fails with DialTimeoutError after connectTimeout; a late connection is closed, not leaked", async () => {
  const hole = await blackHole();
  const client = new Client(`tcp@127.0.0.1:${hole.port}`, { connectTimeout: 300 });
  try {
    const t0 = performance.now();
    const err = await bounded(
      client.call("Arith", "Mul", { A: 1, B: 2 }).then(() => "answered", (e) => e),
      5000,
      "a call to the black hole",
    );
    const took = performance.now() - t0;
    assert.ok(err instanceof ConnectionError, `got ${err}`);
    assert.ok(err.cause instanceof DialTimeoutError, `cause ${err.cause}`);
    assert.equal(err.cause.timeout, 300);
    assert.match(err.cause.message, new RegExp(`tcp@127\\.0\\.0\\.1:${hole.port}.*timed out`));
    assert.ok(took >= 250 && took < 2000, `failed after ${took.toFixed(0)} ms`);
    // The queue drains: the probe's and then the client's retried SYN complete. The client gave
    // that dial up, so it must close the connection it gets (the server side reads its end).
    await hole.drain();
    await waitFor(
      "the client's late connection to arrive",
      () => hole.accepted.length === hole.filled + 2,
      8000,
      20,
    );
    await hole.assertAcceptedClosed();
  } finally {
    await client.close();
    await hole.close();
  }
});

Deno.test("a node:net dial (nodeSockets: Node's and Bun's) that gets no answer fails with DialTimeoutError after its timeout and frees its socket; a refused one is typed", async () => {
  const hole = await blackHole();
  const label = `tcp@127.0.0.1:${hole.port}`;
  try {
    const t0 = performance.now();
    const err = await bounded(
      nodeSockets.connect({ transport: "tcp", hostname: "127.0.0.1", port: hole.port }, {
        network: "tcp",
        label,
        timeout: 300,
      }).then((c) => {
        c.close();
        return "connected";
      }, (e) => e),
      5000,
      "a node:net dial to the black hole",
    );
    const took = performance.now() - t0;
    assert.ok(err instanceof DialTimeoutError, `got ${err}`);
    assert.equal(err.timeout, 300);
    assert.ok(took >= 250 && took < 2000, `failed after ${took.toFixed(0)} ms`);
    // The queue drains: the dial given up was destroyed, so no connection of it is left open
    // (none arrives, or it is closed at once).
    await hole.drain();
    await delay(500);
    await hole.assertAcceptedClosed();
    // A closed port: ConnectionRefusedError, at once.
    const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (closed.addr as Deno.NetAddr).port;
    closed.close();
    await assert.rejects(
      nodeSockets.connect({ transport: "tcp", hostname: "127.0.0.1", port }, {
        network: "tcp",
        label: `tcp@127.0.0.1:${port}`,
        timeout: 2000,
      }),
      ConnectionRefusedError,
    );
  } finally {
    await hole.close();
  }
});

Deno.test("a network of one's own, registered by name, serves and dials", async () => {
  const networks = new NetworkRegistry();
  let dials = 0;
  networks.register({
    name: "counted",
    dial: (address, options) => (dials++, tcpNetwork.dial(address, options)),
    listen: (address, options) => tcpNetwork.listen(address, options),
  });
  const server = await interopServer({ networks });
  const addr = await server.serve("counted", "127.0.0.1:0");
  const client = new Client(`counted@${addr}`, { networks });
  try {
    assert.deepEqual(await client.call("Arith", "Add", { A: 1, B: 2 }), { C: 3 });
    assert.equal(dials, 1);
    // One error contract: an RpcxError like every error @rpcx/core throws; Go's text.
    await assert.rejects(server.serve("nope", "x"), (e) => {
      assert.ok(e instanceof UnsupportedNetworkError && e instanceof RpcxError);
      assert.equal(e.message, "rpcx: unsupported network nope");
      assert.equal(e.name, "UnsupportedNetworkError");
      return true;
    });
    assert.ok(!defaultNetworks.has("counted"));
  } finally {
    await client.close();
    await server.close();
  }
});

/** First bytes of a handshake that never finishes, per kind of listener. */
const HALF = {
  // A TLS record that announces a 200-byte ClientHello and stops after its first bytes.
  tls: new Uint8Array([0x16, 0x03, 0x01, 0x00, 0xc8, 0x01, 0x00, 0x00, 0xc4, 0x03, 0x03]),
  // rpcx's magic, version and half the rest of a header.
  rpcx: new Uint8Array([0x08, 0x01, 0x00]),
  // A CONNECT / WebSocket request whose header never ends.
  connect: new TextEncoder().encode("CONNECT /_rpcx_ HTTP/1.0\r\n"),
  upgrade: new TextEncoder().encode("GET /_rpcx_ HTTP/1.1\r\nHost: x\r\n"),
};

/**
 * Opens `n` raw connections to `addr` that send nothing and `n` that send `half`; resolves with
 * how many of them the server closed (EOF or reset seen by the client) within `withinMs`, and
 * the latest close (ms after the last one was opened). Every socket is closed afterwards.
 */
async function stalledPeers(
  addr: string,
  n: number,
  half: Uint8Array,
  withinMs: number,
  whileWaiting: () => Promise<void>,
): Promise<{ closed: number; latestMs: number }> {
  const [hostname, port] = [addr.slice(0, addr.lastIndexOf(":")), Number(addr.split(":").pop())];
  const conns: Deno.Conn[] = [];
  let closed = 0;
  let latest = 0;
  const reads: Promise<void>[] = [];
  for (let i = 0; i < 2 * n; i++) {
    const c = await Deno.connect({ hostname, port });
    conns.push(c);
    if (i % 2 === 1) await c.write(half);
  }
  const opened = Date.now();
  for (const c of conns) {
    reads.push((async () => {
      const buf = new Uint8Array(4096);
      try {
        while (await c.read(buf) !== null) { /* what the server says before closing */ }
      } catch {
        // reset: closed too
      }
      closed++;
      latest = Math.max(latest, Date.now() - opened);
    })());
  }
  const end = opened + withinMs;
  while (closed < conns.length && Date.now() < end) await whileWaiting();
  const byServer = closed;
  const latestMs = latest;
  for (const c of conns) {
    try {
      c.close();
    } catch {
      // closed
    }
  }
  await Promise.all(reads);
  return { closed: byServer, latestMs };
}

Deno.test("handshakes that never finish are bounded by readTimeout on every listener (tls, mutual TLS, http+tls, wss; plain tcp, http, ws), and others are served meanwhile", async () => {
  if (!needs("openssl", OPENSSL ? undefined : "not on PATH")) return;
  const cases: (Case & { half: Uint8Array })[] = [
    { name: "tcp+tls", network: "tcp", tls: "tls", half: HALF.tls },
    { name: "tcp+mtls", network: "tcp", tls: "mtls", half: HALF.tls },
    { name: "http+tls", network: "http", tls: "tls", half: HALF.tls },
    { name: "wss", network: "wss", tls: "tls", half: HALF.tls },
    { name: "tcp", network: "tcp", half: HALF.rpcx },
    { name: "http", network: "http", half: HALF.connect },
    { name: "ws", network: "ws", half: HALF.upgrade },
  ];
  const N = 100; // per kind: N silent + N half-sent
  for (const c of cases) {
    const { serve, client: opts } = await tlsFor(c);
    const server = await interopServer({ readTimeout: 1000 });
    const addr = await server.serve(c.network, "127.0.0.1:0", serve);
    const client = new Client(`${c.network}@${addr}`, { ...opts, connectTimeout: 5000 });
    let served = 0;
    try {
      assert.deepEqual(await client.call("Arith", "Mul", { A: 2, B: 3 }), { C: 6 });
      const { closed, latestMs } = await stalledPeers(addr, N, c.half, 6000, async () => {
        const r = await client.call("Arith", "Mul", { A: 3, B: 4 }, { timeout: 3000 });
        assert.deepEqual(r, { C: 12 }, `${c.name}: served while the stalled peers wait`);
        served++;
        await new Promise((r) => setTimeout(r, 100));
      });
      assert.equal(closed, 2 * N, `${c.name}: ${closed} of ${2 * N} stalled connections closed`);
      assert.ok(served > 0, `${c.name}: no call made while waiting`);
      // The bound is readTimeout (1000 ms) per connection; 3 s leaves room for 200 sockets on a
      // loaded 2-core machine while still failing a bound several times too loose.
      assert.ok(
        latestMs < 3000,
        `${c.name}: the last stalled connection closed after ${latestMs} ms`,
      );
    } finally {
      await client.close();
      await server.close();
    }
  }
});

Deno.test("handshakeTimeout: a TLS listener without readTimeout bounds the handshake by the serve option", async () => {
  if (!needs("openssl", OPENSSL ? undefined : "not on PATH")) return;
  const k = await getCerts();
  const server = await interopServer();
  const addr = await server.serve("tcp", "127.0.0.1:0", {
    tls: { certChain: k.server.cert, privateKey: k.server.key },
    handshakeTimeout: 500,
  });
  try {
    const { closed } = await stalledPeers(addr, 20, HALF.tls, 4000, () => delay(50));
    assert.equal(closed, 40);
  } finally {
    await server.close();
  }
});

Deno.test("a TLS dial that times out frees its socket (a server that accepts and never answers the handshake)", async () => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  const ended: number[] = [];
  const accepted = (async () => {
    const c = await l.accept();
    const t0 = Date.now();
    const buf = new Uint8Array(4096);
    try {
      while (await c.read(buf) !== null) { /* the ClientHello */ }
    } catch {
      // reset
    }
    ended.push(Date.now() - t0);
    c.close();
  })();
  const client = new Client(`tcp@127.0.0.1:${port}`, {
    tls: {},
    connectTimeout: 300,
  });
  try {
    const err = await bounded(
      client.call("Arith", "Mul", {}).catch((e) => e),
      5000,
      "call over a TLS dial that never completes",
    );
    assert.ok(err instanceof ConnectionError, String(err));
    assert.ok(err.cause instanceof DialTimeoutError, `cause ${err.cause}`);
    await waitFor("the dialer to close its socket", () => ended.length === 1, 3000);
  } finally {
    await client.close();
    l.close();
    await bounded(accepted.catch(() => {}), 5000, "server side of the stalled dial");
  }
});

Deno.test("a self-signed server certificate made by `openssl req -x509` (CA:TRUE) is accepted when trusted, as Go's client does; untrusted, the error says what to do", async () => {
  if (!needs("openssl", OPENSSL ? undefined : "not on PATH")) return;
  const dir = await Deno.makeTempDir({ prefix: "rpcx-selfsigned-" });
  const out = await runBounded(OPENSSL!, {
    args: [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      "key.pem",
      "-out",
      "cert.pem",
      "-days",
      "2",
      "-subj",
      "/CN=localhost",
      "-addext",
      "subjectAltName=DNS:localhost,IP:127.0.0.1",
    ],
    cwd: dir,
    timeoutMs: 30_000,
  });
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const cert = await Deno.readTextFile(`${dir}/cert.pem`);
  const key = await Deno.readTextFile(`${dir}/key.pem`);
  const server = await interopServer();
  const clients: Client[] = [];
  try {
    const addr = await server.serve("tcp", "127.0.0.1:0", {
      tls: { certChain: cert, privateKey: key },
    });
    const port = addr.split(":").pop();
    // By IP and by name; tcp and wss alike.
    for (const key of [`tcp@${addr}`, `tcp@localhost:${port}`]) {
      const c = new Client(key, { tls: { caCerts: [cert] } });
      clients.push(c);
      assert.deepEqual(await c.call("Arith", "Mul", { A: 6, B: 7 }), { C: 42 }, key);
    }
    const untrusted = new Client(`tcp@${addr}`, { tls: {} });
    clients.push(untrusted);
    await assert.rejects(untrusted.call("Arith", "Mul", { A: 1, B: 1 }), (e) => {
      assert.ok(e instanceof ConnectionError && e.cause instanceof TlsHandshakeError, String(e));
      assert.match(e.cause.message, /tls\.caCerts/, e.cause.message);
      return true;
    });
    const wrongName = new Client(`tcp@${addr}`, {
      tls: { caCerts: [cert], serverName: "rpc.example.com" },
    });
    clients.push(wrongName);
    await assert.rejects(wrongName.call("Arith", "Mul", { A: 1, B: 1 }), (e) => {
      assert.ok(e instanceof ConnectionError && e.cause instanceof TlsHandshakeError, String(e));
      assert.match(e.cause.message, /serverName/, e.cause.message);
      return true;
    });
  } finally {
    for (const c of clients) await c.close();
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

for (const flags of [["--unstable-net"], []]) {
  Deno.test(`reusePort: two servers share one port on tcp, tls and ws, both answer (deno ${flags.join(" ") || "without --unstable-net"})`, async () => {
    if (!needs("openssl", OPENSSL ? undefined : "not on PATH")) return;
    const k = await getCerts();
    const script = `
      import { Client, Server } from "@rpcx/core";
      const [cert, key, ca] = JSON.parse(Deno.args[0]);
      const tls = { certChain: cert, privateKey: key };
      const out = [];
      for (const [network, serve, opts] of [
        ["tcp", {}, {}],
        ["tcp", { tls }, { tls: { caCerts: [ca] } }],
        ["ws", {}, {}],
      ]) {
        const a = new Server(), b = new Server();
        await a.register({ Who: () => "a" }, "Svc");
        await b.register({ Who: () => "b" }, "Svc");
        const addr = await a.serve(network, "127.0.0.1:0", { ...serve, reusePort: true });
        await b.serve(network, addr, { ...serve, reusePort: true });
        const seen = new Set();
        for (let i = 0; i < 200 && seen.size < 2; i++) {
          const c = new Client(network + "@" + addr, opts);
          seen.add(await c.call("Svc", "Who", null));
          await c.close();
        }
        out.push([...seen].sort().join(","));
        await a.close();
        await b.close();
      }
      console.log(out.join(" "));
    `;
    const out = await runBounded(Deno.execPath(), {
      args: [
        "eval",
        ...flags,
        "--ext=ts",
        script,
        JSON.stringify([k.server.cert, k.server.key, k.ca]),
      ],
    });
    const text = new TextDecoder().decode(out.stdout).trim();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    assert.equal(text, "a,b a,b a,b");
  });
}

/** A WebSocket frame as a client sends it (masked). */
function wsFrame(opcode: number, payload: Uint8Array, fin = true): Uint8Array {
  const len = payload.byteLength;
  const ext = len < 126 ? 0 : 2;
  const out = new Uint8Array(2 + ext + 4 + len);
  out[0] = (fin ? 0x80 : 0) | opcode;
  out[1] = 0x80 | (ext ? 126 : len);
  if (ext) (out[2] = len >>> 8, out[3] = len & 0xff);
  const mask = crypto.getRandomValues(new Uint8Array(4));
  out.set(mask, 2 + ext);
  for (let i = 0; i < len; i++) out[2 + ext + 4 + i] = payload[i] ^ mask[i & 3];
  return out;
}

Deno.test("ws server: fragmented text frames, a ping in between, 16-bit lengths, close answered", async () => {
  const server = await interopServer();
  const addr = await server.serve("ws", "127.0.0.1:0");
  const [hostname, port] = addr.split(":");
  const conn = await Deno.connect({ hostname, port: Number(port) });
  try {
    const enc = new TextEncoder();
    const key = btoa("0123456789abcdef");
    await conn.write(enc.encode(
      `GET /_rpcx_ HTTP/1.1\r\nHost: ${addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\nOrigin: http://${addr}\r\n\r\n`,
    ));
    // Read everything the server sends into one growing buffer.
    let got = new Uint8Array(0);
    const reading = (async () => {
      const buf = new Uint8Array(65536);
      while (true) {
        const n = await conn.read(buf).catch(() => null);
        if (n === null) return;
        const next = new Uint8Array(got.length + n);
        next.set(got);
        next.set(buf.subarray(0, n), got.length);
        got = next;
      }
    })();
    const text = () => new TextDecoder().decode(got);
    await waitFor("the 101", () => text().includes("\r\n\r\n"), 5000, 10);
    assert.match(text(), /^HTTP\/1\.1 101 /);
    const headerEnd = text().indexOf("\r\n\r\n") + 4;
    // An rpcx request (JSON Echo.Meta with a 300-byte string: a 16-bit length) in two text
    // fragments, with a ping between them.
    const req = encodeMessage(createMessage({
      seq: 7n,
      serializeType: SerializeType.JSON,
      servicePath: "Echo",
      serviceMethod: "Meta",
      payload: enc.encode(JSON.stringify({ Data: "d".repeat(300) })),
    }));
    const cut = 100;
    await conn.write(wsFrame(1, req.subarray(0, cut), false));
    await conn.write(wsFrame(9, enc.encode("hi")));
    await conn.write(wsFrame(0, req.subarray(cut), true));
    // Frames back: a pong with "hi", then a binary frame holding the rpcx response.
    const frames = () => {
      const out: { op: number; payload: Uint8Array }[] = [];
      let o = headerEnd;
      while (o + 2 <= got.length) {
        let len = got[o + 1] & 0x7f;
        let h = 2;
        if (len === 126) (len = (got[o + 2] << 8) | got[o + 3], h = 4);
        if (o + h + len > got.length) break;
        out.push({ op: got[o] & 0x0f, payload: got.subarray(o + h, o + h + len) });
        o += h + len;
      }
      return out;
    };
    await waitFor("pong and response", () => frames().length >= 2, 5000, 10);
    const [pong, res] = frames();
    assert.equal(pong.op, 10);
    assert.equal(new TextDecoder().decode(pong.payload), "hi");
    assert.equal(res.op, 2);
    const msg = new FrameDecoder().push(res.payload)[0];
    assert.equal(msg.seq, 7n);
    assert.deepEqual(JSON.parse(new TextDecoder().decode(msg.payload)), { Data: "d".repeat(300) });
    // Close: the server answers with a close frame and ends the connection.
    await conn.write(wsFrame(8, new Uint8Array([0x03, 0xe8])));
    await bounded(reading, 5000, "the server to close");
    assert.equal(frames().at(-1)?.op, 8);
  } finally {
    try {
      conn.close();
    } catch { /* closed */ }
    await server.close();
  }
});

Deno.test("http and ws on another path: rpcPath on the client, path on serve; the default path is refused", async () => {
  for (const network of ["http", "ws"]) {
    const server = await interopServer();
    const addr = await server.serve(network, "127.0.0.1:0", { path: "/custom" });
    const ok = new Client(`${network}@${addr}`, { rpcPath: "/custom" });
    const wrong = new Client(`${network}@${addr}`);
    try {
      assert.deepEqual(await ok.call("Arith", "Mul", { A: 3, B: 4 }), { C: 12 });
      await assert.rejects(wrong.call("Arith", "Mul", { A: 3, B: 4 }), (e) => {
        assert.ok(e instanceof ConnectionError, String(e));
        assert.ok(e.cause instanceof UpgradeError, `${network}: cause ${e.cause}`);
        return true;
      });
    } finally {
      await ok.close();
      await wrong.close();
      await server.close();
    }
  }
});

/** Writes 64 KiB chunks to `c` until a write fails (at most 2000 writes or 10 s); the error. */
async function writeUntilGone(c: Connection): Promise<unknown> {
  const chunk = new Uint8Array(64 * 1024);
  const end = Date.now() + 10_000;
  for (let i = 0; i < 2000 && Date.now() < end; i++) {
    try {
      await bounded(c.write(chunk), 5000, "a write to a gone peer");
    } catch (e) {
      return e;
    }
    await delay(2);
  }
  throw new Error("writes to a gone peer never failed");
}

/** Listens for case `c` on the network itself; the first accepted connection and a dialed one. */
async function connectedPair(
  c: Case,
): Promise<{ accepted: Connection; dialed: Connection; listener: Listener }> {
  const { serve, client } = await tlsFor(c);
  const network = defaultNetworks.get(c.network);
  const listener = await network.listen(await listenAddress(c), { tls: serve.tls });
  const it = listener[Symbol.asyncIterator]();
  const [first, dialed] = await bounded(
    Promise.all([it.next(), network.dial(listener.address, { tls: client.tls, timeout: 5000 })]),
    10_000,
    "connect",
  );
  return { accepted: first.value as Connection, dialed, listener };
}

const GONE_WRITE =
  /^write (tcp|unix) \S+(->\S+)?: (write: broken pipe|write: connection reset by peer)$/;

for (const rt of SOCKETS) {
  for (const c of CASES) {
    Deno.test(`network ${c.name} (${rt.name} sockets): writing to a peer that closed fails with PeerGoneError and Go's message`, async () => {
      if (c.tls && !needs("openssl", OPENSSL ? undefined : "not on PATH")) return;
      await using(rt, async () => {
        const { accepted, dialed, listener } = await connectedPair(c);
        try {
          dialed.close();
          const e = await writeUntilGone(accepted);
          assert.ok(e instanceof PeerGoneError, `${c.name}: ${e}`);
          assert.ok(e instanceof SocketError && e instanceof RpcxError);
          assert.match(e.message, GONE_WRITE);
          assert.equal(e.op, "write");
          assert.ok(["broken-pipe", "reset"].includes(e.reason), e.reason);
        } finally {
          accepted.close();
          await listener.close();
        }
      });
    });
  }

  for (const network of ["tcp", "unix"]) {
    Deno.test(`network ${network} (${rt.name} sockets): a peer that closes with bytes unread resets; the read fails with PeerGoneError`, async () => {
      await using(rt, async () => {
        const c = CASES.find((c) => c.network === network)!;
        const listener = await defaultNetworks.get(network).listen(await listenAddress(c));
        const it = listener[Symbol.asyncIterator]();
        // The peer is a paused node:net socket: it reads nothing, so destroying it sends a reset
        // (Deno's own TcpConn.close() sends a FIN first, which the other side reads as the end).
        const peer = network === "unix"
          ? netConnect({ path: listener.address })
          : netConnect({ host: "127.0.0.1", port: Number(listener.address.split(":").pop()) });
        peer.pause();
        peer.on("error", () => {});
        const [first] = await bounded(
          Promise.all([it.next(), new Promise((r) => peer.once("connect", r))]),
          10_000,
          "connect",
        );
        const accepted = first.value as Connection;
        try {
          await accepted.write(new Uint8Array(100));
          await delay(50);
          peer.destroy();
          const e = await bounded(
            accepted.read(new Uint8Array(10)).then(() => undefined, (e) => e),
            5000,
            "a read from a reset connection",
          );
          assert.ok(e instanceof PeerGoneError, `${network}: ${e}`);
          assert.equal(e.reason, "reset");
          assert.match(
            e.message,
            new RegExp(`^read ${network} \\S+: read: connection reset by peer$`),
          );
        } finally {
          accepted.close();
          await listener.close();
        }
      });
    });
  }
}

/**
 * Runs `fn` with a tcp listener of nodeSockets, a Deno connection to it (`peer`) and the
 * connection the listener accepted of it (within 5 s); the peer and the listener are closed after.
 */
async function withNodeSocketsPeer(
  fn: (peer: Deno.TcpConn, accepted: Connection) => Promise<void>,
): Promise<void> {
  const listener = await tcpNetwork.listen("127.0.0.1:0", { nodeSockets: true });
  const it = listener[Symbol.asyncIterator]();
  const peer = await Deno.connect({
    hostname: "127.0.0.1",
    port: Number(listener.address.split(":").pop()),
  });
  try {
    await fn(peer, (await bounded(it.next(), 5000, "accept")).value as Connection);
  } finally {
    peer.close();
    await listener.close();
  }
}

Deno.test("tcp with nodeSockets: an accepted node:net connection hands its socket over with the bytes read and not taken in front", async () => {
  // What the server's HTTP side relies on to give node:http the socket itself: bytes the
  // connection already queued (a pipelined second request) must come out of the socket first.
  await withNodeSocketsPeer(async (peer, accepted) => {
    const own = handOverOf(accepted);
    assert.ok(
      own,
      "a node:net connection can hand its socket over (on Deno too, with nodeSockets)",
    );
    await peer.write(new TextEncoder().encode("first|second|third"));
    const head = new Uint8Array(6);
    await bounded(
      (async () => {
        // Read "first|" and wait until the rest is queued behind it.
        let got = 0;
        while (got < head.byteLength) got += (await accepted.read(head.subarray(got))) ?? 0;
        await delay(50);
      })(),
      5000,
      "the first bytes",
    );
    const socket = own.handOver();
    assert.equal(await accepted.read(new Uint8Array(10)), null, "the connection reads no more");
    // The socket is its new owner's now: closing the connection leaves it open.
    accepted.close();
    assert.equal((socket as unknown as { destroyed: boolean }).destroyed, false);
    const rest: Uint8Array[] = [];
    socket.on("data", (d: Uint8Array) => rest.push(d));
    socket.resume();
    await peer.write(new TextEncoder().encode("|fourth"));
    const text = () => rest.map((d) => new TextDecoder().decode(d)).join("");
    await bounded(
      (async () => {
        while (!text().endsWith("fourth")) await delay(5);
      })(),
      5000,
      "the rest through the socket",
    );
    assert.equal(text(), "second|third|fourth");
    socket.destroy();
  });
});

Deno.test("tcp with nodeSockets: one read takes every queued chunk that fits, not one chunk a read", async () => {
  // Go's SendFile writes 1 KiB at a time: node:net queues a chunk per segment, and a read that
  // took one chunk cost a read (an event-loop turn) per KiB on Node and Bun.
  await withNodeSocketsPeer(async (peer, accepted) => {
    peer.setNoDelay(true);
    const segment = new Uint8Array(1024);
    for (let i = 0; i < 40; i++) {
      segment.fill(i);
      await peer.write(segment);
      await delay(3); // each its own segment, delivered as its own chunk
    }
    // Every byte queued on our side before the one read (however slow the delivery).
    const queued = () => (accepted as unknown as { buffered: number }).buffered;
    await waitFor("the 40 KiB queued", () => queued() === 40 * 1024, 10_000, 5);
    const buf = new Uint8Array(64 * 1024);
    const n = await bounded(accepted.read(buf), 5000, "the read");
    assert.equal(n, 40 * 1024, "the 40 queued 1 KiB chunks in one read");
    for (let i = 0; i < 40; i++) assert.equal(buf[i * 1024 + 1023], i, `chunk ${i} in order`);
    const small = new Uint8Array(10);
    await peer.write(new Uint8Array(100).fill(7));
    assert.equal(await bounded(accepted.read(small), 5000, "a short read"), 10);
    assert.deepEqual(small, new Uint8Array(10).fill(7));
    accepted.close();
  });
});
