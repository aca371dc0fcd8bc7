// FramedConnection over real sockets: the `sniff` hand-over (the first bytes read go to the
// sniffer once; a taken stream stays open for its new owner, a refused one is decoded as usual),
// a server telling rpcx from HTTP on one port when the first bytes arrive one at a time, and
// frames cut anywhere (a header's first bytes wait in the read buffer until it is whole).
import assert from "node:assert/strict";
import { Client, Server } from "@rpcx/core";
import {
  createMessage,
  encodeMessage,
  encodeMessages,
  FramedConnection,
  FrameDecoder,
  InvalidMagicError,
  type Message,
  SerializeType,
  TruncatedFrameError,
} from "@rpcx/core/protocol";
import { bounded } from "./support/env.ts";

/** A connected pair of TCP sockets on loopback: [accepted, dialed]. */
async function socketPair(): Promise<[Deno.TcpConn, Deno.TcpConn]> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const dialed = Deno.connect({
      hostname: "127.0.0.1",
      port: (listener.addr as Deno.NetAddr).port,
    });
    const accepted = await listener.accept();
    return [accepted, await dialed];
  } finally {
    listener.close();
  }
}

async function writeSlowly(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let i = 0; i < bytes.byteLength; i++) {
    await conn.write(bytes.subarray(i, i + 1));
    await new Promise((r) => setTimeout(r, 2));
  }
}

Deno.test("FramedConnection sniff: a taken stream is left open to its taker with the bytes read", async () => {
  const [accepted, dialed] = await socketPair();
  let closed = 0;
  const heads: Uint8Array[] = [];
  try {
    const fc = new FramedConnection(accepted, {
      onMessage: () => assert.fail("nothing is decoded from a taken stream"),
      onClose: () => void closed++,
    }, {
      sniff: (head, stream) => {
        heads.push(head.slice());
        assert.equal(stream, accepted);
        return head[0] === 0x47; // "G"
      },
    });
    fc.start();
    await dialed.write(new TextEncoder().encode("GET / HTTP/1.1\r\n"));
    await bounded(
      (async () => {
        while (!fc.isClosed) await new Promise((r) => setTimeout(r, 5));
      })(),
      2000,
      "the framed connection lets go",
    );
    assert.equal(closed, 1);
    assert.equal(heads.length, 1);
    assert.equal(new TextDecoder().decode(heads[0]).startsWith("G"), true);
    // Still open: its taker writes on it and the peer reads.
    await accepted.write(new TextEncoder().encode("ok"));
    const got = new Uint8Array(2);
    assert.equal(await bounded(dialed.read(got), 2000, "peer reads"), 2);
    assert.equal(new TextDecoder().decode(got), "ok");
  } finally {
    accepted.close();
    dialed.close();
  }
});

Deno.test("FramedConnection sniff: a refused first byte is decoded as usual, the sniffer asked once", async () => {
  const [accepted, dialed] = await socketPair();
  const got: Message[] = [];
  let asked = 0;
  const fc = new FramedConnection(accepted, { onMessage: (m) => void got.push(m) }, {
    sniff: () => {
      asked++;
      return false;
    },
  });
  try {
    fc.start();
    const frame = encodeMessage(
      createMessage({ seq: 7n, servicePath: "Arith", serviceMethod: "Mul" }),
    );
    await writeSlowly(dialed, frame);
    await dialed.write(encodeMessage(createMessage({ seq: 8n, servicePath: "Arith" })));
    await bounded(
      (async () => {
        while (got.length < 2) await new Promise((r) => setTimeout(r, 5));
      })(),
      5000,
      "both frames decoded",
    );
    assert.deepEqual(got.map((m) => m.seq), [7n, 8n]);
    assert.equal(got[0].serviceMethod, "Mul");
    assert.equal(asked, 1);
  } finally {
    fc.close();
    dialed.close();
  }
});

Deno.test("server: rpcx and HTTP on one port when the first bytes arrive one at a time", async () => {
  const server = new Server();
  server.registerFunction("Arith", function Mul(a: { A: number; B: number }) {
    return { C: a.A * a.B };
  });
  const addr = await server.serve("tcp", "127.0.0.1:0");
  const [hostname, port] = addr.split(":");
  const raw = await Deno.connect({ hostname, port: Number(port) });
  const rpcx = await Deno.connect({ hostname, port: Number(port) });
  const client = new Client(`tcp@${addr}`);
  try {
    const body = '{"A":6,"B":7}';
    const request = `POST / HTTP/1.1\r\nHost: ${addr}\r\nX-RPCX-ServicePath: Arith\r\n` +
      `X-RPCX-ServiceMethod: Mul\r\nX-RPCX-SerializeType: 1\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`;
    await writeSlowly(raw, new TextEncoder().encode(request));
    let text = "";
    const buf = new Uint8Array(4096);
    await bounded(
      (async () => {
        for (;;) {
          const n = await raw.read(buf);
          if (n === null) return;
          text += new TextDecoder().decode(buf.subarray(0, n));
        }
      })(),
      5000,
      "HTTP answer",
    );
    assert.match(text, /^HTTP\/1\.1 200/);
    assert.match(text, /\{"C":42\}/);
    // rpcx the same way, and a client beside it.
    await writeSlowly(
      rpcx,
      encodeMessage(createMessage({
        seq: 3n,
        servicePath: "Arith",
        serviceMethod: "Mul",
        serializeType: SerializeType.JSON,
        payload: new TextEncoder().encode('{"A":3,"B":4}'),
      })),
    );
    const decoder = new FrameDecoder();
    const replies: Message[] = [];
    await bounded(
      (async () => {
        while (replies.length === 0) {
          const n = await rpcx.read(buf);
          if (n === null) throw new Error("closed before the reply");
          replies.push(...decoder.push(buf.slice(0, n)));
        }
      })(),
      5000,
      "rpcx reply",
    );
    assert.equal(replies[0].seq, 3n);
    assert.deepEqual(JSON.parse(new TextDecoder().decode(replies[0].payload)), { C: 12 });
    assert.deepEqual(await client.call("Arith", "Mul", { A: 10, B: 20 }), { C: 200 });
  } finally {
    raw.close();
    rpcx.close();
    await client.close();
    await server.close();
  }
});

/** Writes `bytes` in pieces of 1 to 23 bytes (a fixed pseudo-random sequence), each read apart. */
async function writeInPieces(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let seed = 7;
  for (let off = 0; off < bytes.byteLength;) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    const n = Math.min(1 + (seed % 23), bytes.byteLength - off);
    await conn.write(bytes.subarray(off, off + n));
    off += n;
    await new Promise((r) => setTimeout(r, 1));
  }
}

/** A framed connection on `accepted` that records what it sees, with the server's buffer sizes. */
function recording(accepted: Deno.Conn) {
  const seen = { msgs: [] as Message[], errors: [] as unknown[], closed: 0 };
  const fc = new FramedConnection(accepted, {
    onMessage: (m) => void seen.msgs.push(m),
    onError: (e) => void seen.errors.push(e),
    onClose: () => void seen.closed++,
  }, { initialReadBufferSize: 64 });
  fc.start();
  return { fc, seen };
}

Deno.test("FramedConnection: frames cut anywhere, headers in pieces across reads and buffers, decode in order", async () => {
  const [accepted, dialed] = await socketPair();
  const { fc, seen } = recording(accepted);
  try {
    const sent = Array.from({ length: 60 }, (_, i) =>
      createMessage({
        seq: BigInt(i + 1),
        servicePath: "Arith",
        serviceMethod: i % 2 ? "Mul" : "",
        payload: new Uint8Array((i * 37) % 200).fill(i),
      }));
    const bytes = new Uint8Array(sent.reduce((n, m) => n + encodeMessage(m).byteLength, 0));
    let off = 0;
    for (const m of sent) {
      const b = encodeMessage(m);
      bytes.set(b, off);
      off += b.byteLength;
    }
    await bounded(writeInPieces(dialed, bytes), 20_000, "all pieces written");
    await bounded(
      (async () => {
        while (seen.msgs.length < sent.length) await new Promise((r) => setTimeout(r, 5));
      })(),
      5000,
      "every frame decoded",
    );
    assert.deepEqual(seen.msgs.map((m) => m.seq), sent.map((m) => m.seq));
    for (const [i, m] of seen.msgs.entries()) {
      assert.equal(m.serviceMethod, sent[i].serviceMethod);
      assert.deepEqual(m.payload, sent[i].payload);
    }
    assert.deepEqual(seen.errors, []);
    assert.ok(Math.abs(fc.lastMessageAt - Date.now()) < 5000, "lastMessageAt is an epoch time");
    assert.equal(fc.writePendingSince, 0);
  } finally {
    fc.close();
    dialed.close();
  }
});

Deno.test("FramedConnection: a header cut by the end of the stream and a bad first byte are typed errors", async () => {
  for (const c of ["cut header", "bad magic after a frame"] as const) {
    const [accepted, dialed] = await socketPair();
    const { fc, seen } = recording(accepted);
    try {
      const frame = encodeMessage(createMessage({ seq: 1n, servicePath: "Arith" }));
      if (c === "cut header") {
        await writeInPieces(dialed, frame.subarray(0, 10));
        dialed.close();
      } else {
        await dialed.write(frame);
        await bounded(
          (async () => {
            while (seen.msgs.length === 0) await new Promise((r) => setTimeout(r, 5));
          })(),
          5000,
          "the frame decoded",
        );
        await dialed.write(new Uint8Array([0x47, 0x45, 0x54])); // "GET": fails at once
      }
      await bounded(
        (async () => {
          while (seen.closed === 0) await new Promise((r) => setTimeout(r, 5));
        })(),
        5000,
        `${c}: the connection closes`,
      );
      assert.equal(seen.errors.length, 1, c);
      if (c === "cut header") {
        assert.ok(seen.errors[0] instanceof TruncatedFrameError);
        assert.match((seen.errors[0] as Error).message, /\(10 bytes pending\)/);
        assert.equal(seen.msgs.length, 0);
      } else {
        assert.ok(seen.errors[0] instanceof InvalidMagicError);
        assert.deepEqual(seen.msgs.map((m) => m.seq), [1n]);
      }
    } finally {
      fc.close();
      try {
        dialed.close();
      } catch {
        // closed above
      }
    }
  }
});

Deno.test("FramedConnection writes through lent buffers: a few reused for many writes, every frame intact", async () => {
  // The kind: a buffer allocated per write (a 16 KiB call cost a 16 KiB frame buffer of its
  // own, and V8's collector the time to free it). Now the encoder takes the batch's buffer
  // from the connection (`alloc`), which takes it back once the socket has the bytes.
  const [accepted, dialed] = await socketPair();
  const buffers = new Set<ArrayBufferLike>();
  let lent = 0;
  const writer = new FramedConnection(dialed, { onMessage: () => {} }, {
    encodeBatch: (msgs, alloc) => {
      assert.ok(alloc, "the connection lends the batch's buffer");
      const out = encodeMessages(msgs, (n) => {
        const b = alloc(n);
        lent++;
        buffers.add(b.buffer);
        return b;
      });
      return out;
    },
  });
  const got: Message[] = [];
  const reader = new FramedConnection(accepted, { onMessage: (m) => void got.push(m) }, {});
  reader.start();
  writer.start();
  const N = 200;
  const payload = (i: number) => new Uint8Array(16 * 1024).fill(i & 0xff);
  try {
    for (let i = 0; i < N; i++) {
      writer.send(createMessage({ seq: BigInt(i), servicePath: "P", payload: payload(i) }));
      // Every other message waits for the write: batches of one and of several.
      if (i % 2 === 0) await writer.drained();
    }
    await writer.drained();
    await bounded(
      (async () => {
        while (got.length < N) await new Promise((r) => setTimeout(r, 5));
      })(),
      10_000,
      "every frame read",
    );
    for (let i = 0; i < N; i++) {
      assert.equal(got[i].seq, BigInt(i));
      assert.deepEqual(got[i].payload, payload(i), `payload ${i} intact`);
    }
    assert.ok(lent > N / 2, `${lent} batches`);
    assert.ok(buffers.size <= 4, `${buffers.size} buffers for ${lent} writes`);
  } finally {
    writer.close();
    reader.close();
  }
});
