// Server limits: a frame it cannot take fails alone (the connection and its other calls go
// on), and the read, write and idle timeouts close the connections they should, only those.
import assert from "node:assert/strict";
import {
  type CallContext,
  Client,
  CompressType,
  SerializeType,
  Server,
  type ServerOptions,
} from "@rpcx/core";
import { jsonCodec } from "@rpcx/core/extend";
import { createMessage, encodeMessage, type Message, MessageStatusType } from "@rpcx/core/protocol";
import { Arith } from "../examples/arith.ts";
import { bounded, delay, sleep, waitFor } from "./support/env.ts";
import { RawConn } from "./support/raw_conn.ts";

const enc = (v: unknown) => jsonCodec.encode(v);
const dec = (b: Uint8Array) => jsonCodec.decode(b);
const req = (fields: Partial<Message>) =>
  encodeMessage(createMessage({ serializeType: SerializeType.JSON, ...fields }));

async function withServer(
  options: ServerOptions,
  fn: (addr: string, server: Server) => Promise<void>,
): Promise<void> {
  const server = new Server(options);
  await server.register(new Arith(), "Arith");
  await server.register({
    Sleep: (ms: number, ctx: CallContext) => sleep(ms, ctx.signal).then(() => ms),
    Bytes: (b: Uint8Array) => b.byteLength,
  }, "Work");
  const addr = await server.serve("tcp", "127.0.0.1:0");
  try {
    await fn(addr, server);
  } finally {
    await server.close();
  }
}

/** Reads messages until one with `seq` arrives. */
async function replyTo(c: RawConn, seq: bigint, timeout = 5000): Promise<Message> {
  const end = Date.now() + timeout;
  while (Date.now() < end) {
    const i = c.inbox.findIndex((m) => m.seq === seq);
    if (i >= 0) return c.inbox.splice(i, 1)[0];
    if (c.closed) break;
    await c.next(50).then((m) => m && c.inbox.unshift(m));
  }
  throw new Error(`no reply to seq ${seq}${c.closed ? " (connection closed)" : ""}`);
}

Deno.test("an oversized request fails alone with an error naming the limit; the call in flight beside it completes", async () => {
  await withServer({}, async (addr, server) => {
    const c = await RawConn.open(addr);
    try {
      await c.write(
        req({ seq: 1n, servicePath: "Work", serviceMethod: "Sleep", payload: enc(500) }),
      );
      const big = req({
        seq: 2n,
        serializeType: SerializeType.SerializeNone,
        servicePath: "Work",
        serviceMethod: "Bytes",
        payload: new Uint8Array(17 << 20),
      });
      await c.write(big);
      const refused = await replyTo(c, 2n);
      assert.equal(refused.status, MessageStatusType.Error);
      assert.match(refused.metadata.__rpcx_error__, /exceeds the limit of 16777216 bytes/);
      const slow = await replyTo(c, 1n);
      assert.equal(slow.status, MessageStatusType.Normal);
      assert.deepEqual(dec(slow.payload), 500);
      await c.write(
        req({ seq: 3n, servicePath: "Arith", serviceMethod: "Mul", payload: enc({ A: 6, B: 7 }) }),
      );
      assert.deepEqual(dec((await replyTo(c, 3n)).payload), { C: 42 });
      assert.equal(server.metrics().activeConnections, 1);
    } finally {
      c.close();
    }
  });
});

Deno.test("Client: a 17 MiB call fails alone; a 500 ms call on the same connection completes", async () => {
  await withServer({}, async (addr) => {
    const client = new Client(`tcp@${addr}`);
    try {
      const slow = client.call("Work", "Sleep", 500, { serializeType: SerializeType.JSON })
        .catch((e) => e);
      const big = client.call("Work", "Bytes", new Uint8Array(17 << 20), {
        serializeType: SerializeType.SerializeNone,
      });
      await assert.rejects(big, /16777216/);
      assert.equal(await slow, 500);
      assert.deepEqual(await client.call("Arith", "Mul", { A: 2, B: 3 }), { C: 6 });
    } finally {
      await client.close();
    }
  });
});

Deno.test("oversized oneway and heartbeat frames are skipped without a reply; the connection serves on", async () => {
  await withServer({ maxMessageLength: 1024 }, async (addr) => {
    const c = await RawConn.open(addr);
    try {
      const payload = new Uint8Array(4096);
      await c.write(
        req({ seq: 1n, oneway: true, servicePath: "Work", serviceMethod: "Bytes", payload }),
      );
      await c.write(req({ seq: 2n, heartbeat: true, payload }));
      await c.write(req({ seq: 3n, servicePath: "Work", serviceMethod: "Bytes", payload }));
      await c.write(
        req({ seq: 4n, servicePath: "Arith", serviceMethod: "Add", payload: enc({ A: 1, B: 2 }) }),
      );
      const r3 = await replyTo(c, 3n);
      assert.match(r3.metadata.__rpcx_error__, /exceeds the limit of 1024 bytes/);
      assert.deepEqual(dec((await replyTo(c, 4n)).payload), { C: 3 });
      await delay(50);
      assert.deepEqual(c.inbox.map((m) => m.seq), [], "no reply to the oneway or the heartbeat");
      assert.equal(c.closed, false);
    } finally {
      c.close();
    }
  });
});

Deno.test("a frame whose body does not decode (bad lengths, gzip bomb, bad gzip) fails alone", async () => {
  await withServer({ maxDecompressedLength: 1 << 20 }, async (addr) => {
    const c = await RawConn.open(addr);
    try {
      const past = req({ seq: 1n, servicePath: "Arith" });
      new DataView(past.buffer).setUint32(16, 5000); // service path length points past the end
      await c.write(past);
      const bomb = encodeMessage(createMessage({
        seq: 2n,
        compressType: CompressType.Gzip,
        serializeType: SerializeType.SerializeNone,
        servicePath: "Work",
        serviceMethod: "Bytes",
        payload: new Uint8Array(8 << 20),
      }));
      await c.write(bomb);
      const badGzip = req({
        seq: 3n,
        servicePath: "Work",
        serviceMethod: "Bytes",
        payload: enc("x"),
      });
      badGzip[2] |= CompressType.Gzip << 2; // says gzip, is not
      await c.write(badGzip);
      const cases = [[1n, /malformed frame/], [2n, /decompress/], [3n, /decompress/]] as const;
      for (const [seq, text] of cases) {
        const r = await replyTo(c, seq);
        assert.equal(r.status, MessageStatusType.Error);
        assert.match(r.metadata.__rpcx_error__, text);
      }
      await c.write(
        req({ seq: 9n, servicePath: "Arith", serviceMethod: "Mul", payload: enc({ A: 3, B: 3 }) }),
      );
      assert.deepEqual(dec((await replyTo(c, 9n)).payload), { C: 9 });
    } finally {
      c.close();
    }
  });
});

Deno.test("readTimeout closes a connection that sends no complete request in time; heartbeats keep one open", async () => {
  await withServer({ readTimeout: 300 }, async (addr, server) => {
    const stalled = await RawConn.open(addr);
    const beating = await RawConn.open(addr);
    try {
      // Half a header, then nothing (a slow-loris peer).
      await stalled.write(req({ seq: 1n, heartbeat: true }).subarray(0, 10));
      const t0 = Date.now();
      for (let i = 0; i < 8; i++) {
        await beating.write(req({ seq: BigInt(i), heartbeat: true }));
        assert.ok(await beating.next(500), `heartbeat ${i} answered`);
        await delay(100);
      }
      assert.ok(await stalled.waitClosed(2000), "the stalled connection is closed");
      assert.ok(Date.now() - t0 >= 250);
      assert.equal(beating.closed, false, "a connection with heartbeats stays open");
      assert.equal(server.metrics().activeConnections, 1);
    } finally {
      stalled.close();
      beating.close();
    }
  });
});

Deno.test("idleTimeout closes an idle connection, never one with a call in flight", async () => {
  await withServer({ idleTimeout: 300 }, async (addr, server) => {
    const idle = await RawConn.open(addr);
    const busy = await RawConn.open(addr);
    try {
      await busy.write(
        req({ seq: 1n, servicePath: "Work", serviceMethod: "Sleep", payload: enc(900) }),
      );
      await waitFor("the call to start", () => server.metrics().inFlight === 1);
      assert.ok(await idle.waitClosed(2000), "the idle connection is closed");
      const r = await bounded(replyTo(busy, 1n), 3000, "the long call's reply");
      assert.deepEqual(dec(r.payload), 900);
      assert.ok(await busy.waitClosed(2000), "idle after its reply: closed too");
    } finally {
      idle.close();
      busy.close();
    }
  });
});
