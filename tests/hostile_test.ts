// Hostile callers on the rpcx port: a caller that sends and never reads what it is sent. The
// server must hold back (TCP backpressure) instead of queueing answers without end, answer
// every call exactly once once the caller reads, and serve others meanwhile.
import assert from "node:assert/strict";
import { Client, SerializeType, Server } from "@rpcx/core";
import { createMessage, encodeMessage, FrameDecoder } from "@rpcx/core/protocol";
import { Arith } from "../examples/arith.ts";
import { bounded, freePort, waitFor } from "./support/env.ts";
import { spawnRpcx } from "./support/rpcx_cli.ts";
import { rawExchange } from "./support/raw_http.ts";
import { startEtcd } from "./support/etcd_server.ts";
import { Etcd3 } from "etcd3";
import { startOurs, TARGETS } from "./support/runtimes.ts";
import { startTsDataServer, xclientFor } from "./support/stream_files.ts";
import { ArgsTooLargeError, downloadFile, sendFile, stream } from "@rpcx/core/stream";

const CALLS_PER_WRITE = 1000;
/** Sent before the test gives up waiting for the server to stop reading (bytes). */
const SEND_LIMIT = 64 * 1024 * 1024;
/** A write that makes no progress for this long: the server stopped reading (ms). */
const STALL = 2_000;

/** 1000 pipelined Arith.Mul calls, seq 1..1000, as one buffer. */
function callBatch(): Uint8Array {
  const frames = Array.from({ length: CALLS_PER_WRITE }, (_, i) =>
    encodeMessage(createMessage({
      serializeType: SerializeType.JSON,
      seq: BigInt(i + 1),
      servicePath: "Arith",
      serviceMethod: "Mul",
      payload: new TextEncoder().encode(`{"A":${i},"B":2}`),
    })));
  const out = new Uint8Array(frames.reduce((n, f) => n + f.byteLength, 0));
  let o = 0;
  for (const f of frames) {
    out.set(f, o);
    o += f.byteLength;
  }
  return out;
}

async function writeAll(c: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let o = 0; o < bytes.byteLength;) o += await c.write(bytes.subarray(o));
}

/**
 * Writes `batch` to `conn` again and again, reading nothing, until a write makes no progress for
 * {@linkcode STALL} ms (the server stopped reading), {@linkcode SEND_LIMIT} bytes went or 25 s
 * passed: the bytes taken, the writes begun and the write that stalled, if one did.
 */
async function writeUntilHeldBack(
  conn: Deno.Conn,
  batch: Uint8Array,
): Promise<{ sent: number; writes: number; stalledWrite: Promise<void> | undefined }> {
  let sent = 0;
  let writes = 0;
  let stalledWrite: Promise<void> | undefined;
  const deadline = Date.now() + 25_000;
  while (sent < SEND_LIMIT && Date.now() < deadline) {
    const w = writeAll(conn, batch);
    writes++;
    const done = await Promise.race([
      w.then(() => true),
      new Promise<false>((r) => setTimeout(() => r(false), STALL)),
    ]);
    if (!done) {
      stalledWrite = w;
      break;
    }
    sent += batch.byteLength;
  }
  return { sent, writes, stalledWrite };
}

/** {@linkcode writeUntilHeldBack} with batches of pipelined calls; asserts it was held back. */
async function pipelineUntilHeldBack(
  conn: Deno.Conn,
  label: string,
): Promise<{ writes: number; stalledWrite: Promise<void> | undefined }> {
  const { sent, writes, stalledWrite } = await writeUntilHeldBack(conn, callBatch());
  console.log(
    `${label}: ${(sent / 2 ** 20).toFixed(1)} MiB of calls taken (${writes * CALLS_PER_WRITE} ` +
      `calls), ${stalledWrite ? "then the server held back" : "never held back"}`,
  );
  assert.ok(
    stalledWrite,
    `the server read ${sent} bytes of calls whose answers are not read, never holding back`,
  );
  return { writes, stalledWrite };
}

/** Reads the answers to `writes` batches: each call answered once, none failed. */
async function readAnswers(
  conn: Deno.Conn,
  writes: number,
  stalledWrite: Promise<void> | undefined,
): Promise<void> {
  const expected = writes * CALLS_PER_WRITE;
  const perSeq = new Map<bigint, number>();
  let answers = 0;
  const decoder = new FrameDecoder({ maxMessageLength: 1 << 20 });
  const reading = (async () => {
    while (answers < expected) {
      // A fresh buffer each read: the decoder keeps views of a frame cut between reads.
      const buf = new Uint8Array(256 * 1024);
      const n = await conn.read(buf);
      if (n === null) throw new Error(`closed after ${answers} of ${expected} answers`);
      for (const m of decoder.push(buf.subarray(0, n))) {
        answers++;
        perSeq.set(m.seq, (perSeq.get(m.seq) ?? 0) + 1);
        assert.equal(m.metadata.__rpcx_error__, undefined, m.metadata.__rpcx_error__);
      }
    }
  })();
  await bounded(
    Promise.all([reading, stalledWrite]),
    60_000,
    () => `the answers (${answers} of ${expected})`,
  );
  assert.equal(answers, expected);
  for (let s = 1n; s <= BigInt(CALLS_PER_WRITE); s++) assert.equal(perSeq.get(s), writes);
}

for (const network of ["tcp", "unix"] as const) {
  Deno.test(`rpcx (${network}): a caller that pipelines calls and never reads is held back at maxWriteBacklog; once it reads, every call is answered once`, async () => {
    const dir = await Deno.makeTempDir();
    const server = new Server({ maxWriteBacklog: 1024 * 1024 });
    await server.register(new Arith(), "Arith");
    const addr = await server.serve(network, network === "tcp" ? "127.0.0.1:0" : `${dir}/s.sock`);
    const [hostname, port] = addr.split(":");
    const conn = network === "tcp"
      ? await Deno.connect({ hostname, port: Number(port) })
      : await Deno.connect({ transport: "unix", path: `${dir}/s.sock` });
    const other = new Client(`${network}@${addr}`);
    try {
      const heap0 = Deno.memoryUsage().heapUsed;
      const { writes, stalledWrite } = await pipelineUntilHeldBack(conn, network);
      const heapGrowth = Deno.memoryUsage().heapUsed - heap0;
      console.log(`${network}: heap +${(heapGrowth / 2 ** 20).toFixed(0)} MiB`);
      assert.ok(heapGrowth < 256 * 2 ** 20, `heap grew ${heapGrowth} bytes`);
      // Others are served meanwhile.
      const r = await bounded(
        other.call<{ C: number }>("Arith", "Mul", { A: 6, B: 7 }),
        5_000,
        "a call on another connection",
      );
      assert.equal(r.C, 42);
      // Now the caller reads: the server reads on, every call is answered exactly once.
      await readAnswers(conn, writes, stalledWrite);
    } finally {
      conn.close();
      await other.close();
      await server.close();
      await Deno.remove(dir, { recursive: true });
    }
  });
}

for (const target of TARGETS) {
  Deno.test(`rpcx on ${target.name} (the npm package): a caller that pipelines calls and never reads is held back (default maxWriteBacklog); then every call is answered once`, async () => {
    const run = target.command();
    if (!run) return;
    const ours = await startOurs(run, ["serve", "--network", "tcp", "--addr", "127.0.0.1:0"]);
    const [hostname, port] = ours.addr.split(":");
    const conn = await Deno.connect({ hostname, port: Number(port) });
    try {
      const { writes, stalledWrite } = await pipelineUntilHeldBack(conn, target.name);
      await readAnswers(conn, writes, stalledWrite);
    } finally {
      conn.close();
      await ours.stop();
    }
  });
}

for (const nodeSockets of [true, false]) {
  Deno.test(`HTTP (nodeSockets: ${nodeSockets}): requests pipelined without reading the answers run at most 16 at a time (the rest wait, parsed, the connection not read), in order, each once`, async () => {
    let running = 0;
    let most = 0;
    const order: number[] = [];
    const server = new Server();
    await server.register({
      async Wait(args: { I: number }) {
        most = Math.max(most, ++running);
        order.push(args.I);
        await new Promise((r) => setTimeout(r, 5));
        running--;
        return { I: args.I };
      },
    }, "Slow");
    const addr = await server.serve("tcp", "127.0.0.1:0", { nodeSockets });
    const [hostname, port] = addr.split(":");
    const conn = await Deno.connect({ hostname, port: Number(port) });
    try {
      const N = 2000;
      let text = "";
      for (let i = 0; i < N; i++) {
        const body = `{"I":${i}}`;
        text += `POST /Slow HTTP/1.1\r\nHost: x\r\nX-RPCX-ServiceMethod: Wait\r\n` +
          `X-RPCX-SerializeType: 1\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
      }
      const heap0 = Deno.memoryUsage().heapUsed;
      const writing = writeAll(conn, new TextEncoder().encode(text));
      // Nothing read for a second: the server runs a window of them at a time.
      await new Promise((r) => setTimeout(r, 1_000));
      console.log(
        `nodeSockets ${nodeSockets}: ${order.length} of ${N} run, at most ${most} at once, ` +
          `heap +${((Deno.memoryUsage().heapUsed - heap0) / 2 ** 20).toFixed(0)} MiB`,
      );
      assert.ok(most <= 16, `${most} pipelined requests ran at once`);
      // Every answer comes, in order, once.
      const dec = new TextDecoder();
      let got = "";
      const buf = new Uint8Array(256 * 1024);
      const count = () => got.split("HTTP/1.1 200 OK").length - 1;
      await bounded(
        (async () => {
          while (count() < N) {
            const n = await conn.read(buf);
            if (n === null) throw new Error(`closed after ${count()} answers`);
            got += dec.decode(buf.subarray(0, n), { stream: true });
          }
        })(),
        60_000,
        () => `the answers (${count()} of ${N})`,
      );
      await writing;
      const bodies = [...got.matchAll(/\{"I":(\d+)\}/g)].map((m) => Number(m[1]));
      assert.deepEqual(bodies, Array.from({ length: N }, (_, i) => i));
      assert.deepEqual(order, Array.from({ length: N }, (_, i) => i));
      assert.ok(most <= 16, `${most} pipelined requests ran at once`);
    } finally {
      conn.close();
      await server.close();
    }
  });
}

Deno.test("data services: token calls with args over maxArgsLength are refused (ArgsTooLargeError, no token); what waiting tokens hold is bounded", async () => {
  const ts = await startTsDataServer();
  const ss = xclientFor("_streamservice", ts.addr);
  const ft = xclientFor("_filetransfer", ts.addr);
  const dir = await Deno.makeTempDir();
  try {
    const big: Record<string, string> = {};
    for (let i = 0; i < 10; i++) big[`k${i}`] = "v".repeat(7_000);
    const tooLarge = (e: unknown) =>
      e instanceof ArgsTooLargeError && e.remote && e.limit === 65_536 && e.size >= 70_020;
    await assert.rejects(stream(ss, big), tooLarge);
    await Deno.writeTextFile(`${dir}/a.txt`, "a");
    await assert.rejects(sendFile(ft, `${dir}/a.txt`, { meta: big }), tooLarge);
    await assert.rejects(downloadFile(ft, "a.txt", `${dir}/b.txt`, { meta: big }), tooLarge);
    // As Go's client asks (no status metadata): the call fails with the text, no token.
    await assert.rejects(
      ss.call("Stream", { Meta: big }),
      (e: Error) => /call args of 70020 characters over the 65536-character bound/.test(e.message),
    );
    assert.equal(ts.ss.waiting, 0);
    assert.equal(ts.ft.waiting, 0);
    // At the bound: served.
    const fits: Record<string, string> = { k: "v".repeat(65_535) };
    const c = await stream(ss, fits);
    c.close();
    // Callers that take tokens and never connect: at most waitNum × maxArgsLength held.
    const heap0 = Deno.memoryUsage().heapUsed;
    for (let i = 0; i < 200; i++) {
      await ss.call("Stream", { Meta: { k: `${i}`.padEnd(65_000, "v") } });
    }
    assert.equal(ts.ss.waiting, 200);
    console.log(
      `200 waiting tokens at the bound: heap +${
        ((Deno.memoryUsage().heapUsed - heap0) / 2 ** 20).toFixed(0)
      } MiB`,
    );
  } finally {
    await ss.close();
    await ft.close();
    await ts.close();
    await Deno.remove(dir, { recursive: true });
  }
});

/** Server frames (unmasked) parsed from a byte stream: opcode and payload. */
class WsFrames {
  #buf = new Uint8Array(0);
  push(bytes: Uint8Array): { opcode: number; payload: Uint8Array }[] {
    const next = new Uint8Array(this.#buf.byteLength + bytes.byteLength);
    next.set(this.#buf);
    next.set(bytes, this.#buf.byteLength);
    this.#buf = next;
    const out = [];
    let o = 0;
    while (this.#buf.byteLength - o >= 2) {
      let len = this.#buf[o + 1] & 0x7f;
      let at = o + 2;
      if (len === 126) {
        if (this.#buf.byteLength - o < 4) break;
        len = (this.#buf[o + 2] << 8) | this.#buf[o + 3];
        at = o + 4;
      } else if (len === 127) throw new Error("a frame over 64 KiB");
      if (this.#buf.byteLength < at + len) break;
      out.push({ opcode: this.#buf[o] & 0x0f, payload: this.#buf.slice(at, at + len) });
      o = at + len;
    }
    this.#buf = this.#buf.slice(o);
    return out;
  }
}

Deno.test("ws: a peer that pings and never reads is held back (each pong written before reading on); then every ping gets its pong and rpcx goes on", async () => {
  const server = new Server();
  await server.register(new Arith(), "Arith");
  const addr = await server.serve("ws", "127.0.0.1:0");
  const [hostname, port] = addr.split(":");
  const conn = await Deno.connect({ hostname, port: Number(port) });
  try {
    await writeAll(
      conn,
      new TextEncoder().encode(
        "GET /_rpcx_ HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
      ),
    );
    let head = "";
    const one = new Uint8Array(1);
    while (!head.endsWith("\r\n\r\n")) {
      assert.notEqual(await bounded(conn.read(one), 5_000, "the upgrade"), null);
      head += String.fromCharCode(one[0]);
    }
    assert.match(head, /^HTTP\/1\.1 101/);
    // Masked pings of 125 bytes (zero mask): 8000 a write.
    const ping = new Uint8Array(131);
    ping[0] = 0x89;
    ping[1] = 0x80 | 125;
    const batch = new Uint8Array(131 * 8000);
    for (let i = 0; i < 8000; i++) batch.set(ping, i * 131);
    const heap0 = Deno.memoryUsage().heapUsed;
    const { sent, writes, stalledWrite } = await writeUntilHeldBack(conn, batch);
    const heapGrowth = Deno.memoryUsage().heapUsed - heap0;
    console.log(
      `ws: ${(sent / 2 ** 20).toFixed(1)} MiB of pings taken, ` +
        `${stalledWrite ? "then the server held back" : "never held back"}; heap +${
          (heapGrowth / 2 ** 20).toFixed(0)
        } MiB`,
    );
    assert.ok(stalledWrite, `the server read ${sent} bytes of pings, never holding back`);
    // Reading now: a pong for every ping, then an rpcx heartbeat in a binary message answered.
    const frames = new WsFrames();
    const expected = writes * 8000;
    let pongs = 0;
    const hb = encodeMessage(createMessage({ heartbeat: true, seq: 99n }));
    const hbFrame = new Uint8Array(6 + hb.byteLength);
    hbFrame[0] = 0x82;
    hbFrame[1] = 0x80 | hb.byteLength;
    hbFrame.set(hb, 6);
    let answered = false;
    await bounded(
      (async () => {
        while (!answered) {
          const buf = new Uint8Array(256 * 1024);
          const n = await conn.read(buf);
          if (n === null) throw new Error(`closed after ${pongs} pongs`);
          for (const f of frames.push(buf.subarray(0, n))) {
            if (f.opcode === 0x0a) {
              if (++pongs === expected) {
                await stalledWrite;
                await writeAll(conn, hbFrame);
              }
            } else if (f.opcode === 0x02 || f.opcode === 0x01) {
              const [m] = new FrameDecoder().push(f.payload);
              assert.equal(m.seq, 99n);
              answered = true;
            }
          }
        }
      })(),
      60_000,
      () => `the pongs (${pongs} of ${expected}) and the heartbeat`,
    );
    assert.equal(pongs, expected);
  } finally {
    conn.close();
    await server.close();
  }
});

Deno.test("rpcx ui: an /api/set body over 64 KiB is refused (413) as it arrives, declared or streamed; the page goes on", async () => {
  const addr = `127.0.0.1:${freePort()}`;
  const ui = spawnRpcx(["ui", "-r", `tcp@127.0.0.1:${freePort()}`, "--addr", addr, "-i", "60000"]);
  try {
    await waitFor("the page up", () => ui.out.includes(`rpcx ui: http://${addr}/`), 30_000);
    const head = (extra: string) =>
      `POST /api/set HTTP/1.1\r\nHost: ${addr}\r\nContent-Type: application/json\r\n${extra}\r\n`;
    // Declared: refused before any byte of the body.
    const declared = await rawExchange(
      Number(addr.split(":")[1]),
      head("Content-Length: 1073741824\r\n"),
      10_000,
    );
    assert.equal(declared.status, 413);
    // Streamed (chunked, no end): refused once 64 KiB came, while the caller is still sending.
    const [hostname, port] = addr.split(":");
    const conn = await Deno.connect({ hostname, port: Number(port) });
    try {
      await writeAll(conn, new TextEncoder().encode(head("Transfer-Encoding: chunked\r\n")));
      const chunk = new TextEncoder().encode(`10000\r\n${"x".repeat(0x10000)}\r\n`);
      let sent = 0;
      let answer = "";
      const reading = (async () => {
        const buf = new Uint8Array(4096);
        while (!answer.includes("\r\n\r\n")) {
          const n = await conn.read(buf);
          if (n === null) break;
          answer += new TextDecoder().decode(buf.subarray(0, n));
        }
      })();
      const deadline = Date.now() + 20_000;
      while (!answer && sent < 256 * 2 ** 20 && Date.now() < deadline) {
        try {
          await writeAll(conn, chunk);
        } catch {
          break; // closed after the answer
        }
        sent += 0x10000;
      }
      await bounded(reading, 10_000, "the answer");
      console.log(
        `rpcx ui: ${(sent / 2 ** 20).toFixed(1)} MiB sent when answered: ${
          answer.split("\r\n")[0]
        }`,
      );
      assert.match(answer, /^HTTP\/1\.1 413/);
      assert.ok(sent < 32 * 2 ** 20, `${sent} bytes sent before the answer`);
    } finally {
      conn.close();
    }
    const res = await fetch(`http://${addr}/api/nodes`);
    assert.equal(res.status, 200);
    await res.body?.cancel();
  } finally {
    await ui.stop();
  }
});

Deno.test("rpcx ui: an /api/events client that never reads is dropped once 8 MiB of events wait for it; the page goes on", async () => {
  const etcd = await startEtcd();
  if (!etcd) return;
  const raw = new Etcd3({ hosts: etcd.endpoint });
  const addr = `127.0.0.1:${freePort()}`;
  const ui = spawnRpcx([
    "ui",
    "-r",
    `etcd://${etcd.endpoint}/rpcx_test`,
    "--addr",
    addr,
    "-i",
    "50",
  ]);
  const [hostname, port] = addr.split(":");
  let conn: Deno.TcpConn | undefined;
  try {
    await waitFor("the page up", () => ui.out.includes(`rpcx ui: http://${addr}/`), 30_000);
    conn = await Deno.connect({ hostname, port: Number(port) });
    await writeAll(
      conn,
      new TextEncoder().encode(`GET /api/events HTTP/1.1\r\nHost: ${addr}\r\n\r\n`),
    );
    // Not read from now on. Each change of the node makes an event of ~900 KiB.
    const key = "/rpcx_test/Arith/tcp@127.0.0.1:9000";
    const puts = 150;
    for (let i = 0; i < puts; i++) {
      await raw.put(key).value(`weight=${i}&pad=${"x".repeat(900 * 1024)}`);
      await new Promise((r) => setTimeout(r, 60)); // each seen by a poll (every 50 ms)
    }
    // Reading now: the stream ends (the page dropped it) instead of delivering every event.
    let events = 0;
    let text = "";
    let ended = false;
    await bounded(
      (async () => {
        const buf = new Uint8Array(1 << 20);
        while (true) {
          const n = await conn!.read(buf).catch(() => null);
          if (n === null) {
            ended = true;
            return;
          }
          text += new TextDecoder().decode(buf.subarray(0, n));
          const parts = text.split('data: {"registries"');
          events += parts.length - 1;
          text = parts[parts.length - 1].slice(-32);
        }
      })(),
      20_000,
      () => `the end of the event stream (${events} events read)`,
    );
    console.log(`rpcx ui: ${events} of ${puts} events delivered, then the stream ended`);
    assert.ok(ended);
    assert.ok(events < puts, `${events} events`);
    const res = await fetch(`http://${addr}/api/nodes`);
    assert.equal(res.status, 200);
    await res.body?.cancel();
  } finally {
    conn?.close();
    await ui.stop();
    raw.close();
    await etcd.stop();
  }
});
