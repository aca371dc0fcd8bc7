// The default safety limits (README: 16 MiB frames, 64 MiB after decompression) at their exact
// boundaries: in the stream decoder, in a Server with default options (raw socket in), and in a
// Client with default options (a Server's reply in).
import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import {
  Client,
  CompressType,
  ConnectionClosedError,
  SerializeType,
  Server,
  type ServerOptions,
  ServiceError,
} from "@rpcx/core";
import {
  createMessage,
  DecompressionError,
  DEFAULT_DECODE_LIMITS,
  encodeMessage,
  FrameDecoder,
  FrameTooLargeError,
  type Message,
  MessageStatusType,
} from "@rpcx/core/protocol";
import { startReady } from "./support/child.ts";
import { bounded, REPO_ROOT, waitFor } from "./support/env.ts";

const MiB = 1024 * 1024;
const FRAME_LIMIT = 16 * MiB;
const INFLATED_LIMIT = 64 * MiB;

/** A request whose `total` (frame length minus the 16-byte header) is exactly `total`. */
function requestWithTotal(total: number, fields: Partial<Message> = {}): Uint8Array {
  const base = {
    servicePath: "Big",
    serviceMethod: "Len",
    seq: 1n,
    serializeType: SerializeType.SerializeNone,
    ...fields,
  };
  const empty = encodeMessage(createMessage({ ...base, payload: new Uint8Array(0) }));
  const payloadLength = total - (empty.byteLength - 16);
  const frame = encodeMessage(
    createMessage({ ...base, payload: new Uint8Array(payloadLength).fill(0x61) }),
  );
  assert.equal(new DataView(frame.buffer, frame.byteOffset).getUint32(12), total);
  return frame;
}

/** gzip of `n` zero bytes, built from 1 MiB members (fast; gunzip reads all members). */
function gzipZeros(n: number): Uint8Array {
  const member = gzipSync(new Uint8Array(MiB), { level: 1 });
  const parts: Uint8Array[] = [];
  for (let left = n; left > 0; left -= MiB) {
    parts.push(left >= MiB ? member : gzipSync(new Uint8Array(left), { level: 1 }));
  }
  const out = new Uint8Array(parts.reduce((s, p) => s + p.byteLength, 0));
  let o = 0;
  for (const p of parts) (out.set(p, o), o += p.byteLength);
  return out;
}

Deno.test("default limits are 16 MiB per frame and 64 MiB decompressed", () => {
  assert.equal(DEFAULT_DECODE_LIMITS.maxMessageLength, FRAME_LIMIT);
  assert.equal(DEFAULT_DECODE_LIMITS.maxDecompressedLength, INFLATED_LIMIT);
});

Deno.test("decoder with defaults: a 16 MiB frame is accepted, 16 MiB + 1 refused from its header", () => {
  const ok = requestWithTotal(FRAME_LIMIT);
  const msgs = new FrameDecoder().push(ok);
  assert.equal(msgs.length, 1);
  assert.equal(msgs[0].payload.byteLength, FRAME_LIMIT - 16 - 3 - 3);

  const tooBig = requestWithTotal(FRAME_LIMIT + 1);
  // The 16-byte header alone is refused: nothing of the body needs to arrive.
  assert.throws(() => new FrameDecoder().push(tooBig.subarray(0, 16)), (e: unknown) => {
    assert.ok(e instanceof FrameTooLargeError, String(e));
    assert.equal(e.length, FRAME_LIMIT + 1);
    return true;
  });
});

/** A request carrying `gz` (gzip bytes) as its payload, flagged gzip. */
function gzipRequest(gz: Uint8Array, seq = 2n): Uint8Array {
  const f = encodeMessage(
    createMessage({
      servicePath: "Big",
      serviceMethod: "Len",
      seq,
      serializeType: SerializeType.SerializeNone,
      payload: gz,
    }),
  );
  f[2] |= CompressType.Gzip << 2; // the flag only: the payload is gzip already
  return f;
}

Deno.test("decoder with defaults: gzip payloads inflate up to 64 MiB, 64 MiB + 1 is refused", () => {
  const asIs = gzipRequest;
  const at = gzipZeros(INFLATED_LIMIT);
  const over = gzipZeros(INFLATED_LIMIT + 1);
  const msgs = new FrameDecoder().push(asIs(at));
  assert.equal(msgs[0].payload.byteLength, INFLATED_LIMIT);
  assert.throws(() => new FrameDecoder().push(asIs(over)), DecompressionError);
});

/** Sends `bytes` on a fresh connection; resolves with the first reply, or "closed". */
async function rawExchange(addr: string, bytes: Uint8Array): Promise<Message | "closed"> {
  const [hostname, port] = addr.split(":");
  const conn = await Deno.connect({ hostname, port: Number(port) });
  const decoder = new FrameDecoder({ maxMessageLength: 2 ** 31, maxDecompressedLength: 2 ** 31 });
  try {
    // Write and read at once: the server may close before it has read everything.
    const writing = (async () => {
      try {
        for (let o = 0; o < bytes.byteLength;) o += await conn.write(bytes.subarray(o));
      } catch {
        // the server closed first
      }
    })();
    const reply = await bounded(
      (async () => {
        const buf = new Uint8Array(1 << 20);
        while (true) {
          let n: number | null;
          try {
            n = await conn.read(buf);
          } catch {
            return "closed" as const;
          }
          if (n === null) return "closed" as const;
          const msgs = decoder.push(buf.slice(0, n));
          if (msgs.length > 0) return msgs[0];
        }
      })(),
      30_000,
      "the server's answer",
    );
    await writing;
    return reply;
  } finally {
    conn.close();
  }
}

async function withLenServer(
  fn: (addr: string, server: Server) => Promise<void>,
  options: ServerOptions = {}, // default limits
): Promise<void> {
  const server = new Server(options);
  await server.register({
    // Replies with the decoded payload's size (raw bytes in, raw text out).
    Len: (b: Uint8Array) => new TextEncoder().encode(String(b.byteLength)),
    // Replies with a payload of the requested size.
    Make: (b: Uint8Array) => new Uint8Array(Number(new TextDecoder().decode(b))).fill(0x62),
  }, "Big");
  const addr = await server.serve("tcp", "127.0.0.1:0");
  try {
    await fn(addr, server);
  } finally {
    await server.close();
  }
}

const lenOf = (m: Message | "closed") =>
  m === "closed" ? "closed" : Number(new TextDecoder().decode(m.payload));

Deno.test("Server with defaults: a 16 MiB request is served; 16 MiB + 1 gets an error reply naming the limit", async () => {
  const log = console.error;
  console.error = () => {};
  try {
    await withLenServer(async (addr, server) => {
      assert.equal(lenOf(await rawExchange(addr, requestWithTotal(FRAME_LIMIT))), FRAME_LIMIT - 22);
      const over = await rawExchange(addr, requestWithTotal(FRAME_LIMIT + 1));
      assert.ok(over !== "closed", "answered, not dropped");
      assert.equal(over.status, MessageStatusType.Error);
      assert.equal(
        over.metadata.__rpcx_error__,
        `rpcx: message length ${FRAME_LIMIT + 1} exceeds the limit of ${FRAME_LIMIT} bytes`,
      );
      assert.equal(lenOf(await rawExchange(addr, requestWithTotal(100))), 100 - 22);
      assert.equal(server.metrics().connectionsAccepted, 3);
    });
  } finally {
    console.error = log;
  }
});

Deno.test("Server with defaults: a gzip request inflating to 64 MiB is served; 64 MiB + 1 is refused", async () => {
  const log = console.error;
  console.error = () => {};
  try {
    await withLenServer(async (addr) => {
      const at = await rawExchange(addr, gzipRequest(gzipZeros(INFLATED_LIMIT)));
      assert.equal(lenOf(at), INFLATED_LIMIT);
      const over = await rawExchange(addr, gzipRequest(gzipZeros(INFLATED_LIMIT + 1)));
      assert.ok(over !== "closed", "answered, not dropped");
      assert.equal(over.status, MessageStatusType.Error);
      assert.match(over.metadata.__rpcx_error__, /cannot decompress payload/);
    });
  } finally {
    console.error = log;
  }
});

Deno.test("Client with defaults: reads a 16 MiB reply; 16 MiB + 1 fails the call with a typed error", async () => {
  // The server's own limit is higher (as a Go server's: none), so it sends the 16 MiB + 1 reply.
  await withLenServer(async (addr) => {
    const client = new Client(addr, { serializeType: SerializeType.SerializeNone });
    try {
      // Reply frame: total = 4 + 3 ("Big") + 4 + 4 ("Make") + 4 (no metadata) + 4 + payload.
      const overhead = 4 + 3 + 4 + 4 + 4 + 4;
      const ask = (total: number) =>
        client.call<Uint8Array>("Big", "Make", new TextEncoder().encode(String(total - overhead)));
      const at = await bounded(ask(FRAME_LIMIT), 30_000, "16 MiB reply");
      assert.equal(at.byteLength, FRAME_LIMIT - overhead);
      await assert.rejects(bounded(ask(FRAME_LIMIT + 1), 30_000, "16 MiB + 1 reply"), (e) => {
        assert.ok(e instanceof ConnectionClosedError, `got ${e}`);
        assert.ok(e.cause instanceof FrameTooLargeError, `cause ${e.cause}`);
        assert.equal(e.cause.length, FRAME_LIMIT + 1);
        return true;
      });
      // The client dials again for the next call.
      assert.equal((await ask(100)).byteLength, 100 - overhead);
    } finally {
      await client.close();
    }
  }, { maxMessageLength: 2 * FRAME_LIMIT });
});

Deno.test("Server with defaults: a 16 MiB reply is sent; 16 MiB + 1 is refused with an error reply naming the sizes, the connection goes on", async () => {
  await withLenServer(async (addr) => {
    const client = new Client(addr, { serializeType: SerializeType.SerializeNone });
    try {
      const overhead = 4 + 3 + 4 + 4 + 4 + 4; // as in the test above
      const ask = (total: number) =>
        client.call<Uint8Array>("Big", "Make", new TextEncoder().encode(String(total - overhead)));
      const at = await bounded(ask(FRAME_LIMIT), 30_000, "16 MiB reply");
      assert.equal(at.byteLength, FRAME_LIMIT - overhead);
      await assert.rejects(bounded(ask(FRAME_LIMIT + 1), 30_000, "16 MiB + 1 reply"), (e) => {
        assert.ok(e instanceof ServiceError, `got ${e}`);
        assert.equal(
          e.message,
          `rpcx: reply of ${FRAME_LIMIT + 1} bytes exceeds the limit of ${FRAME_LIMIT} bytes`,
        );
        return true;
      });
      assert.equal((await ask(100)).byteLength, 100 - overhead);
    } finally {
      await client.close();
    }
  });
});

/** A process's peak and current resident memory (VmHWM, VmRSS), in bytes (Linux /proc). */
async function residentMemory(pid: number): Promise<{ peak: number; now: number }> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const kib = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)![1]);
  return { peak: kib("VmHWM") * 1024, now: kib("VmRSS") * 1024 };
}

Deno.test("Server with defaults: a frame declaring 400 MiB is skipped as it arrives, never held (the server's peak memory stays flat); the connection goes on", async () => {
  // The server runs in its own process, so its peak resident memory is its own.
  const script = `
    import { Server } from "${REPO_ROOT}/mod.ts";
    const server = new Server();
    await server.register({ Len: (b) => new TextEncoder().encode(String(b.byteLength)) }, "Big");
    console.log("LISTENING " + await server.serve("tcp", "127.0.0.1:0"));
  `;
  const server = await startReady(Deno.execPath(), ["eval", "--ext=ts", script], {
    ready: /LISTENING (\S+)\n/,
    what: "the server's LISTENING line",
    timeoutMs: 30_000,
  });
  const [hostname, port] = server.match[1].split(":");
  const conn = await Deno.connect({ hostname, port: Number(port) });
  try {
    // 400 MiB: a server that held it would peak 400 MiB higher; one that skips it peaks only by
    // the read buffers it has not yet collected (V8 collects at ~64 MiB of them).
    const declared = 400 * MiB;
    // Warm the connection and the server's read path up, then take its peak as the baseline.
    const replies: Message[] = [];
    const decoder = new FrameDecoder();
    const reading = (async () => {
      const buf = new Uint8Array(64 * 1024);
      for (let n; (n = await conn.read(buf)) !== null;) {
        replies.push(...decoder.push(buf.slice(0, n)));
      }
    })().catch(() => {});
    const write = async (bytes: Uint8Array) => {
      for (let o = 0; o < bytes.byteLength;) o += await conn.write(bytes.subarray(o));
    };
    await write(requestWithTotal(MiB, { seq: 1n }));
    await waitFor("the warm-up reply", () => replies.length === 1, 10_000);
    const before = await residentMemory(server.child.pid);
    // A header declaring 400 MiB, then all of its body in 1 MiB writes of one buffer.
    const over = requestWithTotal(100, { seq: 2n }).subarray(0, 16);
    new DataView(over.buffer, over.byteOffset).setUint32(12, declared);
    await write(over);
    const chunk = new Uint8Array(MiB).fill(0x61);
    for (let sent = 0; sent < declared; sent += MiB) await write(chunk);
    // Then a request on the same connection: answered after the skipped frame's error reply.
    await write(requestWithTotal(100, { seq: 3n }));
    await waitFor("both replies", () => replies.length === 3, 30_000);
    const after = await residentMemory(server.child.pid);
    assert.equal(replies[1].seq, 2n);
    assert.equal(replies[1].status, MessageStatusType.Error);
    assert.equal(
      replies[1].metadata.__rpcx_error__,
      `rpcx: message length ${declared} exceeds the limit of ${FRAME_LIMIT} bytes`,
    );
    assert.equal(replies[2].seq, 3n);
    assert.equal(lenOf(replies[2]), 100 - 22);
    const grew = after.peak - before.peak;
    console.log(
      `server peak RSS ${(before.peak / MiB).toFixed(0)} -> ${(after.peak / MiB).toFixed(0)} MiB ` +
        `over ${declared / MiB} MiB skipped`,
    );
    assert.ok(grew < 160 * MiB, `the server's peak memory grew by ${(grew / MiB).toFixed(0)} MiB`);
    conn.close();
    await reading;
  } finally {
    try {
      conn.close();
    } catch {
      // closed
    }
    await server.stop();
  }
});
