// Go parity, issue 29 (server): connAccept may return a wrapped connection (Go's PostConnAccept
// returns a net.Conn), with Go's TeeConnPlugin and rpcx-examples `tcpcopy` (every byte a client
// sends also goes to another server); and the TCP keep-alive of accepted connections (Go's
// server.WithTCPKeepAlivePeriod).
import assert from "node:assert/strict";
import { connect } from "node:net";
import { Client, ConnectionError, type ConnInfo, SerializeType, Server } from "@rpcx/core";
import { type Connection, jsonCodec, type ServerPlugin } from "@rpcx/core/extend";
import { decodeFrame, readFrameTotal } from "@rpcx/core/protocol";
import { TeeConnPlugin } from "@rpcx/core/plugins/tee";
import { GO_PEER, needGoPeer, startGoServer } from "./support/go_peer.ts";
import { runBounded } from "./support/child.ts";
import { findExecutable, needs, waitFor } from "./support/env.ts";
import { makeTestCerts, OPENSSL } from "./support/certs.ts";

async function goCall(addr: string, extra: string[] = []): Promise<string> {
  const r = await runBounded(GO_PEER!, {
    args: ["client", "--addr", addr, "--tolerate-errors", ...extra],
    timeoutMs: 30_000,
  });
  return new TextDecoder().decode(r.stdout).trim();
}

/** The rpcx frames in `bytes`, as `service.method`. */
function frames(bytes: Uint8Array): string[] {
  const out: string[] = [];
  for (let at = 0; at < bytes.length;) {
    const m = decodeFrame(bytes, at);
    out.push(`${m.servicePath}.${m.serviceMethod}`);
    at += 16 + readFrameTotal(bytes, at);
  }
  return out;
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const all = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) all.set(c, (at += c.length) - c.length);
  return all;
}

Deno.test("rpcx-examples tcpcopy (Go's TeeConnPlugin): every byte Go's client sends also goes to the writer, whole frames in order; the calls are served as before", async () => {
  if (!needGoPeer()) return;
  const chunks: Uint8Array[] = [];
  const tee = new TeeConnPlugin({ write: (b: Uint8Array) => void chunks.push(b) });
  const server = new Server({ plugins: [tee] });
  await server.register({ Mul: (a: { A: number; B: number }) => ({ C: a.A * a.B }) }, "Arith");
  const addr = await server.serve("tcp", "127.0.0.1:0");
  try {
    assert.equal(await goCall(addr, ["--count", "3"]), "10 * 20 = 200\n".repeat(3).trim());
    await waitFor("the copy", () => frames(concat(chunks)).length === 3, 10_000, 10);
    assert.deepEqual(frames(concat(chunks)), ["Arith.Mul", "Arith.Mul", "Arith.Mul"]);
    // Go's Update: a writer set later, or none.
    const later: Uint8Array[] = [];
    tee.update({ write: (b: Uint8Array) => void later.push(b) });
    assert.equal(await goCall(addr), "10 * 20 = 200");
    tee.update(undefined);
    assert.equal(await goCall(addr), "10 * 20 = 200");
    assert.deepEqual(frames(concat(later)), ["Arith.Mul"]);
    assert.equal(frames(concat(chunks)).length, 3);
  } finally {
    await server.close();
  }
});

Deno.test("TeeConnPlugin on inprocess: connAccept gets the pipe's end, the wrapper is read as bytes, so the copy is the same rpcx frames and the calls are served", async () => {
  const chunks: Uint8Array[] = [];
  const tee = new TeeConnPlugin({ write: (b: Uint8Array) => void chunks.push(b) });
  const server = new Server({ plugins: [tee] });
  await server.register({ Mul: (a: { A: number; B: number }) => ({ C: a.A * a.B }) }, "Arith");
  const name = `tee-${crypto.randomUUID()}`;
  await server.serve("inprocess", name);
  const client = new Client(`inprocess@${name}`, { serializeType: SerializeType.JSON });
  try {
    for (let i = 1; i <= 3; i++) {
      assert.deepEqual(await client.call("Arith", "Mul", { A: i, B: 10 }), { C: i * 10 });
    }
    await waitFor("the copy", () => frames(concat(chunks)).length === 3, 10_000, 10);
    assert.deepEqual(frames(concat(chunks)), ["Arith.Mul", "Arith.Mul", "Arith.Mul"]);
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("tcpcopy to another server: a connection per client to Go's server, which gets and serves every request our server gets (Go's client and ours, oneway notes counted there)", async () => {
  if (!needGoPeer()) return;
  const shadow = await startGoServer(undefined, ["--services", "Arith,Echo"]);
  const [host, port] = shadow.key.slice("tcp@".length).split(":");
  let opened = 0, closed = 0;
  const tee = new TeeConnPlugin((conn: ConnInfo) => {
    opened++;
    assert.equal(conn.network, "tcp");
    // Go's server answers on this connection too: its replies are read and dropped.
    const s = connect(Number(port), host).on("error", () => {}).resume();
    return { write: (b: Uint8Array) => s.write(b), close: () => (closed++, s.destroy()) };
  });
  const server = new Server({ plugins: [tee] });
  await server.register({ Mul: (a: { A: number; B: number }) => ({ C: a.A * a.B }) }, "Arith");
  let notes = 0;
  await server.register({ Note: () => ({ Count: ++notes, Last: "" }) }, "Echo");
  const addr = await server.serve("tcp", "127.0.0.1:0");
  const ours = new Client(`tcp@${addr}`, { serializeType: SerializeType.JSON });
  const toShadow = new Client(shadow.key, { serializeType: SerializeType.JSON });
  try {
    assert.equal(await goCall(addr, ["--count", "2"]), "10 * 20 = 200\n10 * 20 = 200");
    // The shadow gets the same oneway notes from the copy, each with its text. Go's server runs
    // each request in its own goroutine, so of notes that arrive together any may be the last
    // one served: each note is sent once the one before was served there.
    for (let i = 1; i <= 5; i++) {
      await ours.send("Echo", "Note", { Text: `note ${i}` });
      await waitFor(
        `the shadow's note ${i}`,
        async () => {
          const r = await toShadow.call("Echo", "Notes", {}) as { Count: number; Last: string };
          if (r.Count === i && r.Last === `note ${i}`) return true;
          throw new Error(`the shadow has ${JSON.stringify(r)}`);
        },
        10_000,
        10,
      );
    }
    assert.deepEqual(await ours.call("Arith", "Mul", { A: 6, B: 7 }), { C: 42 });
    await waitFor("our server's notes", () => notes === 5, 10_000, 10);
    assert.deepEqual(await toShadow.call("Echo", "Notes", {}), { Count: 5, Last: "note 5" });
    assert.equal(opened, 2, "one copy connection per client connection");
    await ours.close();
    await waitFor("the copy of a closed connection closed", () => closed === 2, 10_000, 10);
  } finally {
    await ours.close();
    await toShadow.close();
    await server.close();
    await shadow.stop();
  }
});

Deno.test("connAccept returning a Connection: the server reads and writes through it (plugins chain their wrappers); one refused after a wrap closes the wrapper and the socket", async () => {
  const counted = { in: 0, out: 0, closes: 0 };
  const wrap = (c: Connection): Connection => ({
    get network() {
      return c.network;
    },
    get localAddress() {
      return c.localAddress;
    },
    get remoteAddress() {
      return c.remoteAddress;
    },
    read: async (p) => {
      const n = await c.read(p);
      counted.in += n ?? 0;
      return n;
    },
    write: async (p) => {
      const n = await c.write(p);
      counted.out += n;
      return n;
    },
    close: () => {
      counted.closes++;
      c.close();
    },
  });
  let refuse = false;
  const order: string[] = [];
  const plugins: ServerPlugin[] = [
    { connAccept: (_info, socket) => (order.push("wrap"), socket && wrap(socket)) },
    {
      connAccept: (_info, socket) => {
        order.push(socket && "read" in socket ? "got the wrapper" : "no socket");
        return !refuse;
      },
    },
  ];
  const server = new Server({ plugins });
  await server.register({ Echo: (s: string) => s }, "Svc");
  const addr = await server.serve("tcp", "127.0.0.1:0");
  const client = new Client(`tcp@${addr}`, { serializeType: SerializeType.JSON });
  try {
    assert.equal(await client.call("Svc", "Echo", "through the wrapper"), "through the wrapper");
    assert.deepEqual(order, ["wrap", "got the wrapper"]);
    const request = 16 + 4 + "Svc".length + 4 + "Echo".length + 4 + 0 + 4 +
      jsonCodec.encode("through the wrapper").length;
    assert.equal(counted.in, request, "the request's bytes were read through it");
    assert.ok(counted.out >= request - 1, "the reply was written through it");
    await client.close();
    await waitFor("the wrapper closed with the connection", () => counted.closes === 1, 10_000, 10);
    refuse = true;
    const refused = new Client(`tcp@${addr}`, {
      serializeType: SerializeType.JSON,
      connectTimeout: 10_000,
    });
    // Refused at accept: the call fails on the closed connection (not by its timeout, which
    // would be a call left unanswered).
    await assert.rejects(
      refused.call("Svc", "Echo", "x", { timeout: 20_000 }),
      ConnectionError,
    );
    await refused.close();
    assert.equal(counted.closes, 2, "the refused connection's wrapper was closed");
  } finally {
    await client.close();
    await server.close();
  }
});

const SS = findExecutable("ss");

/**
 * The keep-alive timers (s) of the server's accepted connections on `port`, read once ss lists
 * them with no other timer showing: ss shows one timer per socket, and a retransmission or
 * probe timer (`on`, `persist`: a reply not yet acknowledged) hides the keep-alive one.
 */
async function serverKeepAlive(port: number): Promise<(number | undefined)[]> {
  let lines: string[] = [];
  await waitFor(
    `ss to list the connections on ${port}, keep-alive timer showing`,
    async () => {
      const out = await new Deno.Command(SS!, {
        args: ["-tnoH", "state", "established", "sport", `= :${port}`],
        stdout: "piped",
      }).output();
      const text = new TextDecoder().decode(out.stdout).trim();
      lines = text === "" ? [] : text.split("\n");
      const other = lines.find((l) => /timer:\((?!keepalive)/.test(l));
      if (other !== undefined) throw new Error(`another timer: ${other}`);
      return lines.length > 0;
    },
    10_000,
    20,
  );
  // ss's time left: "29sec", "2min59sec", "119min", "1h59min", "500ms".
  return lines.map((l) => {
    const m = /timer:\(keepalive,(?:(\d+)h)?(?:(\d+)min)?(?:(\d+)sec)?(?:(\d+)ms)?,/.exec(l);
    if (!m) return undefined;
    const [h, min, sec, ms] = m.slice(1).map((x) => Number(x ?? 0));
    return h * 3600 + min * 60 + sec + ms / 1000;
  });
}

Deno.test("tcpKeepAlivePeriod (Go's server.WithTCPKeepAlivePeriod): accepted connections probe after that idle time, plain and TLS; by default keep-alive is on (Go's three minutes on a tcp port, node:net by default); 0: off", async () => {
  if (!needs("ss (iproute2)", SS ? undefined : "not on PATH")) return;
  if (!needs("openssl", OPENSSL ? undefined : "not on PATH")) return;
  const certs = await makeTestCerts();
  const tls = { certChain: certs.server.cert, privateKey: certs.server.key };
  const check = async (
    options: ConstructorParameters<typeof Server>[0],
    clientTls?: { caCerts: string[] },
  ) => {
    const server = new Server(options);
    await server.register({ Who: () => "me" }, "Svc");
    const addr = await server.serve("tcp", "127.0.0.1:0");
    // The client's own keep-alive off: only the server's side is looked at anyway.
    // A TLS handshake under CPU load can take longer than the default dial timeout (1 s: one
    // run in 40 failed on it with two busy loops); the dial's bound is not what is tested here.
    const client = new Client(`tcp@${addr}`, {
      tcpKeepAlivePeriod: 0,
      tls: clientTls,
      connectTimeout: 10_000,
    });
    try {
      await client.call("Svc", "Who", null);
      return await serverKeepAlive(Number(addr.slice(addr.lastIndexOf(":") + 1)));
    } finally {
      await client.close();
      await server.close();
    }
  };
  try {
    const [period] = await check({ tcpKeepAlivePeriod: 30_000 });
    assert.ok(period !== undefined && period > 20 && period <= 30, `plain: ${period} s`);
    const [tlsPeriod] = await check({ tcpKeepAlivePeriod: 30_000, tls }, {
      caCerts: [certs.ca],
    });
    assert.ok(tlsPeriod !== undefined && tlsPeriod > 20 && tlsPeriod <= 30, `TLS: ${tlsPeriod} s`);
    // (ss prints "2min59sec": read as 120 s before the parse took the seconds too.)
    const [fallback] = await check({});
    assert.ok(
      fallback !== undefined && fallback > 170 && fallback <= 180,
      `default: on, Go's 180 s (${fallback} s)`,
    );
    assert.deepEqual(await check({ tcpKeepAlivePeriod: 0 }), [undefined], "0: off");
  } finally {
    await certs.remove();
  }
});
