// Large request payloads are encoded into the process's write buffers and given back once their
// connection framed them (src/codec/_pooled.ts): a buffer is lent again only after its bytes are
// in a frame, so many large calls at once, each with its own contents, over every wire codec
// path and with gzip, all come back intact; a lent buffer goes back to the pool once, and only
// after its frame was made.
import assert from "node:assert/strict";
import { Client, CompressType, Server } from "@rpcx/core";
import { FailMode, MultipleServersDiscovery, SelectMode, XClient } from "@rpcx/core";
import { msgpackCodec } from "@rpcx/core/extend";
import {
  encodePayload,
  givePayload,
  payloadBuffers as writeBuffers,
  POOLED_PAYLOAD,
} from "../src/codec/_pooled.ts";

async function echoServer(wireCodec: "ts" | "native" | "auto" = "auto") {
  const server = new Server({ wireCodec });
  await server.register({ Echo: (a: { S: string; N: number }) => a }, "Bench");
  const addr = await server.serve("tcp", "127.0.0.1:0");
  return { server, addr };
}

/** A string of `n` characters that differs for each `i` all along. */
const text = (i: number, n: number) => {
  const unit = `${i.toString(36)}-`;
  return unit.repeat(Math.ceil(n / unit.length)).slice(0, n);
};

Deno.test("lent payloads: a large request's payload is lent, framed, then given back once", () => {
  const small = encodePayload(msgpackCodec, { S: "x" });
  assert.ok(small.byteLength < POOLED_PAYLOAD);
  // The first large one may be the encoder's first buffer (not the pool's); the next is the pool's.
  givePayload(encodePayload(msgpackCodec, { S: text(0, 16_384) }));
  const big = encodePayload(msgpackCodec, { S: text(1, 16_384) });
  // Encoding the next one does not touch it: the encoder writes into another buffer.
  const next = encodePayload(msgpackCodec, { S: text(2, 16_384) });
  assert.deepEqual(msgpackCodec.decode(big), { S: text(1, 16_384) });
  assert.deepEqual(msgpackCodec.decode(next), { S: text(2, 16_384) });
  assert.notEqual(big.buffer, next.buffer);
  givePayload(next);
  givePayload(big);
  // Back in the pool: the next buffer of that size is the same memory.
  const again = writeBuffers.take(big.byteLength);
  assert.equal(again.buffer, big.buffer, "the lent buffer went back to the pool");
  // A second give of the same payload (or of any buffer not lent) leaves the pool alone.
  givePayload(big);
  const other = writeBuffers.take(big.byteLength);
  assert.notEqual(other.buffer, again.buffer, "given back twice");
  writeBuffers.give(again);
  writeBuffers.give(other);
});

for (const wireCodec of ["ts", "native", "auto"] as const) {
  Deno.test(`lent payloads (${wireCodec}): 300 calls of 4-64 KiB at once, each its own contents, gzip on half, come back intact`, async () => {
    let native = true;
    const { server, addr } = await echoServer(wireCodec).catch((e) => {
      if (wireCodec === "native") native = false;
      throw e;
    });
    if (!native) return;
    const clients = [
      new Client(`tcp@${addr}`, { wireCodec: wireCodec === "native" ? "ts" : wireCodec }),
      new Client(`tcp@${addr}`, { wireCodec, compressType: CompressType.Gzip }),
    ];
    try {
      const calls = Array.from({ length: 300 }, (_, i) => {
        const S = text(i, 4096 + (i * 997) % 61_440);
        return clients[i % 2].call<{ S: string; N: number }>("Bench", "Echo", { S, N: i })
          .then((r) => {
            assert.equal(r.N, i);
            assert.equal(r.S, S, `call ${i}: its payload was overwritten`);
          });
      });
      await Promise.all(calls);
    } finally {
      for (const c of clients) await c.close();
      await server.close();
    }
  });
}

Deno.test("lent payloads: XClient Failover past a dead server, 40 large calls at once, each retry with its own payload", async () => {
  const { server, addr } = await echoServer();
  // A port nothing listens on: the tries sent there fail and go to the live server.
  const dead = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const deadAddr = `127.0.0.1:${(dead.addr as Deno.NetAddr).port}`;
  dead.close();
  const d = new MultipleServersDiscovery([
    { key: `tcp@${deadAddr}`, value: "" },
    { key: `tcp@${addr}`, value: "" },
  ]);
  const x = new XClient("Bench", FailMode.Failover, SelectMode.RoundRobin, d, { retries: 3 });
  try {
    const replies = await Promise.all(
      Array.from(
        { length: 40 },
        (_, i) =>
          x.call<{ S: string; N: number }>("Echo", { S: text(i, 9000 + i), N: i }, {
            timeout: 10_000,
          }),
      ),
    );
    replies.forEach((r, i) => {
      assert.equal(r.N, i);
      assert.equal(r.S, text(i, 9000 + i), `call ${i}: its payload was overwritten`);
    });
  } finally {
    await x.close();
    await d.close();
    await server.close();
  }
});

Deno.test("lent payloads: a server's postWriteResponse hook reads every large reply intact after its write", async () => {
  const seen: string[] = [];
  const bad: string[] = [];
  const server = new Server({
    plugins: [{
      postWriteResponse(_req, res) {
        // Read after the write: had the reply's buffer gone back to the pool, later replies
        // would have been encoded over it by now.
        const r = msgpackCodec.decode(res.payload) as { S: string; N: number };
        (r.S === text(r.N, 5000 + r.N) ? seen : bad).push(String(r.N));
      },
    }],
  });
  await server.register({ Echo: (a: { S: string; N: number }) => a }, "Bench");
  const addr = await server.serve("tcp", "127.0.0.1:0");
  const client = new Client(`tcp@${addr}`);
  try {
    await Promise.all(
      Array.from(
        { length: 100 },
        (_, i) => client.call("Bench", "Echo", { S: text(i, 5000 + i), N: i }),
      ),
    );
    await waitUntil(() => seen.length + bad.length === 100);
    assert.deepEqual(bad, []);
  } finally {
    await client.close();
    await server.close();
  }
});

async function waitUntil(ok: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !ok(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(ok(), "not all postWriteResponse hooks ran within 2 s");
}
