// Server push (Server.sendMessage) to Deno clients over real sockets on 127.0.0.1 and in-process:
// delivery with every serializer, many clients, a client that goes away mid-push, slow readers
// with bounded memory on both sides, plugin hooks.
import assert from "node:assert/strict";
import {
  type CallContext,
  Client,
  ClientConnClosedError,
  type ConnInfo,
  FailMode,
  MultipleServersDiscovery,
  PushBufferFullError,
  SelectMode,
  SerializeType,
  Server,
  type ServerMessage,
  type ServerOptions,
  XClient,
} from "@rpcx/core";
import type { PushContext } from "@rpcx/core/extend";
import { FrameDecoder, type Message, MessageType } from "@rpcx/core/protocol";
import { Arith } from "../examples/arith.ts";
import { bounded, delay, waitFor } from "./support/env.ts";
import { codecsWithProtobuf } from "./support/push.ts";
import { assertHeldPushes } from "./support/held_pushes.ts";
import { capturingWarn } from "./support/log_capture.ts";

let served = 0;

/**
 * A server whose `Arith` records the connection of every caller, on `network` (tcp on
 * 127.0.0.1, or in-process under a fresh name); `target` is the client's address.
 */
async function pushServer(
  options: ServerOptions = {},
  network: "tcp" | "inprocess" = "tcp",
): Promise<{ server: Server; addr: string; target: string; callers: ConnInfo[] }> {
  const server = new Server(options);
  const callers: ConnInfo[] = [];
  await server.register(new Arith());
  await server.registerFunction("Push", function Hello(_args: unknown, ctx: CallContext) {
    callers.push(ctx.conn);
    return "hello";
  });
  const addr = await server.serve(
    network,
    network === "tcp" ? "127.0.0.1:0" : `push-server-${++served}`,
  );
  return { server, addr, target: `${network}@${addr}`, callers };
}

Deno.test("push: the caller's connection gets the push, with path, method, metadata, seq", async () => {
  const { server, addr, callers } = await pushServer();
  const client = new Client(`tcp@${addr}`);
  try {
    const pushes = client.serverMessages();
    assert.equal(await client.call("Push", "Hello", null), "hello");
    assert.equal(callers.length, 1);
    await server.sendMessage(callers[0], "test_service_path", "test_service_method", {
      k: "v",
    }, new TextEncoder().encode("abcde"));
    await server.sendMessage(callers[0], "", "", undefined, "second");
    const a = (await bounded(pushes.next(), 5000, "first push")).value as ServerMessage;
    assert.equal(a.server, `tcp@${addr}`);
    assert.equal(a.servicePath, "test_service_path");
    assert.equal(a.serviceMethod, "test_service_method");
    assert.deepEqual({ ...a.metadata }, { k: "v" });
    assert.equal(a.serializeType, SerializeType.SerializeNone);
    assert.equal(new TextDecoder().decode(a.data), "abcde");
    assert.ok(a.payload instanceof Uint8Array);
    assert.equal(a.message.messageType, MessageType.Request);
    assert.equal(a.message.oneway, true);
    const b = (await bounded(pushes.next(), 5000, "second push")).value as ServerMessage;
    assert.equal(new TextDecoder().decode(b.data), "second");
    assert.equal(b.servicePath, "");
    assert.equal(b.seq, a.seq + 1n);
    // Calls keep working on the same connection.
    assert.deepEqual(await client.call("Arith", "Mul", { A: 10, B: 20 }), { C: 200 });
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("push: every serializer is decoded with the message's codec", async () => {
  const codecs = codecsWithProtobuf();
  const { server, addr, callers } = await pushServer({ codecs });
  const client = new Client(`tcp@${addr}`, { codecs });
  try {
    const pushes = client.serverMessages();
    await client.call("Push", "Hello", null);
    const cases: [number, unknown][] = [
      [SerializeType.SerializeNone, new Uint8Array([1, 2, 3])],
      [SerializeType.JSON, { Text: "json", I: 1 }],
      [SerializeType.MsgPack, { Text: "msgpack", I: 2 }],
      [SerializeType.ProtoBuffer, "protobuf"],
    ];
    for (const [serializeType, data] of cases) {
      await server.sendMessage(callers[0], "P", "M", {}, data, { serializeType });
    }
    for (const [serializeType, data] of cases) {
      const m = (await bounded(pushes.next(), 5000, "push")).value as ServerMessage;
      assert.equal(m.serializeType, serializeType);
      assert.deepEqual(m.payload, data);
      assert.equal(m.decodeError, undefined);
    }
    // A serializer the client has no codec for: delivered, with the reason.
    const plain = new Client(`tcp@${addr}`);
    try {
      const p2 = plain.serverMessages();
      await plain.call("Push", "Hello", null);
      await server.sendMessage(callers[1], "", "", {}, "x", {
        serializeType: SerializeType.ProtoBuffer,
      });
      const m = (await bounded(p2.next(), 5000, "push")).value as ServerMessage;
      assert.equal(m.payload, undefined);
      assert.ok(m.decodeError instanceof Error);
      assert.equal(new TextDecoder().decode(m.data.subarray(2)), "x");
    } finally {
      await plain.close();
    }
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("push: onServerMessage callback, in-process connections, and gzip", async () => {
  const server = new Server();
  const callers: ConnInfo[] = [];
  await server.registerFunction("Push", function Hello(_a: unknown, ctx: CallContext) {
    callers.push(ctx.conn);
    return "hello";
  });
  await server.serve("inprocess", "push-test");
  const got: ServerMessage[] = [];
  const client = new Client("inprocess@push-test", { onServerMessage: (m) => got.push(m) });
  try {
    await client.call("Push", "Hello", null);
    assert.deepEqual(server.activeClientConn(), callers);
    const big = "x".repeat(5000);
    await server.sendMessage(callers[0], "a", "b", { m: "1" }, big, { compressType: 1 });
    await waitFor("the push", () => got.length === 1, 5000);
    assert.equal(new TextDecoder().decode(got[0].data), big);
    assert.equal(got[0].server, "inprocess@push-test");
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("push: many clients; activeClientConn lists each; a push reaches only its connection", async () => {
  const { server, addr, callers } = await pushServer();
  const n = 20;
  const clients = Array.from({ length: n }, () => new Client(`tcp@${addr}`));
  try {
    const streams = clients.map((c) => c.serverMessages());
    for (const c of clients) await c.call("Push", "Hello", null);
    assert.equal(server.activeClientConn().length, n);
    assert.deepEqual(new Set(server.activeClientConn()), new Set(callers));
    // callers[i] is clients[i]'s connection (calls were made one after another).
    await Promise.all(callers.map((c, i) => server.sendMessage(c, "", "", {}, `to ${i}`)));
    for (let i = 0; i < n; i++) {
      const m = (await bounded(streams[i].next(), 5000, `push ${i}`)).value as ServerMessage;
      assert.equal(new TextDecoder().decode(m.data), `to ${i}`);
    }
    // Broadcast to every active connection, 10 rounds.
    for (let r = 0; r < 10; r++) {
      await Promise.all(
        server.activeClientConn().map((c) => server.sendMessage(c, "", "", {}, `r${r}`)),
      );
    }
    for (const s of streams) {
      for (let r = 0; r < 10; r++) {
        const m = (await bounded(s.next(), 5000, "broadcast")).value as ServerMessage;
        assert.equal(new TextDecoder().decode(m.data), `r${r}`);
      }
      assert.equal(s.buffered, 0);
    }
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await server.close();
  }
});

Deno.test("push: a client that disconnects mid-push fails the push with ClientConnClosedError; others go on", async () => {
  const { server, addr, callers } = await pushServer();
  const leaving = new Client(`tcp@${addr}`);
  const staying = new Client(`tcp@${addr}`);
  try {
    const gone = leaving.serverMessages();
    const kept = staying.serverMessages();
    await leaving.call("Push", "Hello", null);
    await staying.call("Push", "Hello", null);
    const [lc, sc] = callers;
    // The server pushes in a loop; the leaving client closes after 10 pushes.
    const pusher = (async () => {
      for (let i = 0; i < 100_000; i++) await server.sendMessage(lc, "", "", {}, `n${i}`);
    })();
    let seen = 0;
    await capturingWarn(async () => { // the reader is slower than the pusher: drops are logged
      // Bounded: when pushes stop arriving, the test fails here instead of hanging.
      await bounded(
        (async () => {
          for await (const _ of gone) if (++seen === 10) break;
        })(),
        5000,
        () => `the first 10 pushes (got ${seen})`,
      );
      await leaving.close();
    });
    const err = await bounded(pusher.then(() => undefined, (e) => e), 10_000, "pusher");
    assert.ok(err instanceof ClientConnClosedError, `got ${err}`);
    assert.equal(err.remoteAddress, lc.remoteAddress);
    await waitFor("connection dropped", () => !server.activeClientConn().includes(lc), 5000);
    // Pushing to it again fails at once, typed.
    await assert.rejects(server.sendMessage(lc, "", "", {}, "late"), ClientConnClosedError);
    // The server keeps serving the other client: pushes and calls.
    await server.sendMessage(sc, "", "", {}, "still here");
    const m = (await bounded(kept.next(), 5000, "push")).value as ServerMessage;
    assert.equal(new TextDecoder().decode(m.data), "still here");
    assert.deepEqual(await staying.call("Arith", "Mul", { A: 2, B: 3 }), { C: 6 });
  } finally {
    await leaving.close();
    await staying.close();
    await server.close();
  }
});

/** A raw TCP peer that never calls and reads only when told to: the slowest reader. */
async function rawPeer(addr: string) {
  const [hostname, port] = [
    addr.slice(0, addr.lastIndexOf(":")),
    addr.slice(addr.lastIndexOf(":") + 1),
  ];
  const conn = await Deno.connect({ hostname, port: Number(port) });
  const decoder = new FrameDecoder();
  const msgs: Message[] = [];
  const buf = new Uint8Array(64 * 1024);
  return {
    conn,
    msgs,
    /**
     * Reads until `count` frames came, sleeping `pauseMs` between reads; rejects when that takes
     * longer than `timeoutMs` (a read that never returns included).
     */
    async readUntil(count: number, pauseMs: number, timeoutMs: number): Promise<void> {
      await bounded(
        (async () => {
          while (msgs.length < count) {
            const n = await conn.read(buf);
            if (n === null) throw new Error("closed");
            msgs.push(...decoder.push(buf.slice(0, n)));
            if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
          }
        })(),
        timeoutMs,
        () => `reading ${count} frames (got ${msgs.length})`,
      );
    },
    close() {
      try {
        conn.close();
      } catch { /* closed */ }
    },
  };
}

Deno.test("push: 10,000 pushes to a reader that does not read: bounded queue, typed errors, then all queued ones arrive", async () => {
  const limit = 256 * 1024;
  const { server, addr } = await pushServer({ pushBufferSize: limit });
  const peer = await rawPeer(addr);
  try {
    await waitFor("the connection", () => server.activeClientConn().length === 1, 5000);
    const [conn] = server.activeClientConn();
    const data = new Uint8Array(4096).fill(7); // 40 MiB in all: far more than socket buffers hold;
    let accepted = 0;
    let full = 0;
    let maxPending = 0;
    const writes: Promise<void>[] = [];
    for (let i = 0; i < 10_000; i++) {
      const p = server.sendMessage(conn, "S", "M", { i: String(i) }, data);
      writes.push(p.then(() => void accepted++, (e) => {
        if (!(e instanceof PushBufferFullError)) throw e;
        assert.equal(e.limit, limit);
        full++;
      }));
      maxPending = Math.max(maxPending, server.pendingPushBytes(conn));
      // Let the socket take what it can now and then, as a real pusher would.
      if (i % 100 === 99) await new Promise((r) => setTimeout(r, 0));
    }
    assert.ok(maxPending <= limit, `pending ${maxPending} > ${limit}`);
    assert.ok(full > 0, "some pushes were refused");
    // Now read: every push that was not refused arrives, in order, and the rest never do.
    const reading = peer.readUntil(10_000 - full, 0, 20_000).catch(() => {});
    await bounded(Promise.all(writes), 20_000, "pushes settled");
    await reading;
    assert.equal(accepted + full, 10_000);
    assert.equal(peer.msgs.length, accepted);
    assert.ok(accepted < 10_000);
    const idx = peer.msgs.map((m) => Number(m.metadata.i));
    assert.deepEqual(idx, [...idx].sort((a, b) => a - b));
    assert.equal(server.pendingPushBytes(conn), 0);
  } finally {
    peer.close();
    await server.close();
  }
});

Deno.test("push: 10,000 awaited pushes to a slow reader all arrive; the queue never passes the limit", async () => {
  const limit = 64 * 1024;
  const { server, addr } = await pushServer({ pushBufferSize: limit });
  const peer = await rawPeer(addr);
  try {
    await waitFor("the connection", () => server.activeClientConn().length === 1, 5000);
    const [conn] = server.activeClientConn();
    const data = new Uint8Array(512).fill(1);
    let maxPending = 0;
    const pusher = (async () => {
      for (let i = 0; i < 10_000; i++) {
        const p = server.sendMessage(conn, "", "", { i: String(i) }, data);
        maxPending = Math.max(maxPending, server.pendingPushBytes(conn));
        await p;
      }
    })();
    await peer.readUntil(10_000, 2, 60_000);
    await bounded(pusher, 10_000, "pusher");
    assert.ok(maxPending <= limit);
    assert.deepEqual(peer.msgs.map((m) => Number(m.metadata.i)), [...Array(10_000).keys()]);
  } finally {
    peer.close();
    await server.close();
  }
});

Deno.test("push: a client stream that is not read keeps at most maxBuffered; drops are counted and logged once", async () => {
  const { server, addr, callers } = await pushServer();
  const client = new Client(`tcp@${addr}`);
  try {
    const stream = client.serverMessages({ maxBuffered: 100 });
    await client.call("Push", "Hello", null);
    const { warnings } = await capturingWarn(async () => {
      for (let i = 0; i < 10_000; i++) {
        await server.sendMessage(callers[0], "", "", {}, String(i));
      }
      await client.call("Arith", "Mul", { A: 1, B: 1 }); // every push before it was read
    });
    assert.equal(stream.buffered, 100);
    assert.equal(stream.dropped, 9_900);
    assert.equal(warnings.filter((w) => w.includes("stream is full")).length, 1);
    for (let i = 0; i < 100; i++) {
      const m = (await stream.next()).value as ServerMessage;
      assert.equal(new TextDecoder().decode(m.data), String(i));
    }
    await client.close();
    assert.equal((await stream.next()).done, true);
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("push: a client with no receiver logs the first dropped push, once", async () => {
  const { server, addr, callers } = await pushServer();
  const client = new Client(`tcp@${addr}`);
  try {
    await client.call("Push", "Hello", null);
    const { warnings } = await capturingWarn(async () => {
      for (let i = 0; i < 5; i++) await server.sendMessage(callers[0], "News", "Tick", {}, "x");
      await client.call("Arith", "Mul", { A: 1, B: 1 });
    });
    const drops = warnings.filter((w) => w.includes("dropped a server push"));
    assert.equal(drops.length, 1, warnings.join("\n"));
    assert.match(drops[0], /"servicePath":"News","serviceMethod":"Tick"/);
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("push: streams end on close, on return() and on abort; later pushes reach only open ones", async () => {
  const { server, addr, callers } = await pushServer();
  const client = new Client(`tcp@${addr}`);
  try {
    const ac = new AbortController();
    const a = client.serverMessages({ signal: ac.signal });
    const b = client.serverMessages();
    const c = client.serverMessages();
    await client.call("Push", "Hello", null);
    ac.abort();
    await b.return();
    await server.sendMessage(callers[0], "", "", {}, "one");
    assert.equal(new TextDecoder().decode(((await c.next()).value as ServerMessage).data), "one");
    assert.equal((await a.next()).done, true);
    assert.equal((await b.next()).done, true);
    const waiting = c.next();
    await client.close();
    assert.equal((await waiting).done, true);
    assert.equal((await client.serverMessages().next()).done, true);
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("push: preWriteRequest/postWriteRequest run around each push, with the error of a failed one", async () => {
  const seen: string[] = [];
  const plugin = {
    preWriteRequest(ctx: PushContext) {
      seen.push(`pre ${ctx.conn.id}`);
    },
    postWriteRequest(ctx: PushContext, req: Message, error: unknown) {
      seen.push(`post ${ctx.conn.id} ${req.serviceMethod} ${error?.constructor.name ?? "ok"}`);
    },
  };
  const { server, addr, callers } = await pushServer({ plugins: [plugin] });
  const client = new Client(`tcp@${addr}`, { onServerMessage: () => {} });
  try {
    await client.call("Push", "Hello", null);
    const id = callers[0].id;
    await server.sendMessage(callers[0], "", "M1", {}, "x");
    await client.close();
    await waitFor("dropped", () => server.activeClientConn().length === 0, 5000);
    await assert.rejects(server.sendMessage(callers[0], "", "M2", {}, "x"), ClientConnClosedError);
    assert.deepEqual(seen, [
      `pre ${id}`,
      `post ${id} M1 ok`,
      `pre ${id}`,
      `post ${id} M2 ClientConnClosedError`,
    ]);
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("push: XClient receives pushes from each of its servers", async () => {
  const s1 = await pushServer();
  const s2 = await pushServer();
  const got: ServerMessage[] = [];
  const xc = new XClient(
    "Push",
    FailMode.Failtry,
    SelectMode.RoundRobin,
    new MultipleServersDiscovery([
      { key: `tcp@${s1.addr}`, value: "" },
      { key: `tcp@${s2.addr}`, value: "" },
    ]),
    { onServerMessage: (m) => got.push(m) },
  );
  try {
    const stream = xc.serverMessages();
    await xc.call("Hello", null);
    await xc.call("Hello", null);
    await s1.server.sendMessage(s1.callers[0], "", "", {}, "from 1");
    await s2.server.sendMessage(s2.callers[0], "", "", {}, "from 2");
    const a = (await bounded(stream.next(), 5000, "push")).value as ServerMessage;
    const b = (await bounded(stream.next(), 5000, "push")).value as ServerMessage;
    const byServer = new Map([a, b].map((m) => [m.server, new TextDecoder().decode(m.data)]));
    assert.deepEqual(
      byServer,
      new Map([[`tcp@${s1.addr}`, "from 1"], [`tcp@${s2.addr}`, "from 2"]]),
    );
    assert.equal(got.length, 2);
    await xc.close();
    assert.equal((await stream.next()).done, true);
  } finally {
    await xc.close();
    await s1.server.close();
    await s2.server.close();
  }
});

for (const network of ["tcp", "inprocess"] as const) {
  Deno.test(`push (${network}): bidirectionalBlock — a slow stream reader pauses the connection; 10,000 pushes arrive, none dropped`, async () => {
    const limit = 64 * 1024;
    const { server, target, callers } = await pushServer({ pushBufferSize: limit }, network);
    const client = new Client(target, { bidirectionalBlock: true });
    try {
      const stream = client.serverMessages({ maxBuffered: 10 });
      await client.call("Push", "Hello", null);
      const data = new Uint8Array(512);
      let maxPending = 0;
      const pusher = (async () => {
        for (let i = 0; i < 10_000; i++) {
          const p = server.sendMessage(callers[0], "", "", { i: String(i) }, data);
          maxPending = Math.max(maxPending, server.pendingPushBytes(callers[0]));
          await p;
        }
      })();
      let maxBuffered = 0;
      for (let i = 0; i < 10_000; i++) {
        maxBuffered = Math.max(maxBuffered, stream.buffered);
        const m = (await bounded(stream.next(), 10_000, `push ${i}`)).value as ServerMessage;
        assert.equal(m.metadata.i, String(i));
        if (i % 1000 === 0) await new Promise((r) => setTimeout(r, 20)); // a slow reader
      }
      await bounded(pusher, 10_000, "pusher");
      assert.equal(stream.dropped, 0);
      assert.ok(maxBuffered <= 10, `buffered ${maxBuffered}`);
      assert.ok(maxPending <= limit);
    } finally {
      await client.close();
      await server.close();
    }
  });

  Deno.test(`push (${network}): bidirectionalBlock — a stream that is not read stops the reading; the server's fire-and-forget pushes then fail typed`, async () => {
    const limit = 256 * 1024;
    const { server, target, callers } = await pushServer({ pushBufferSize: limit }, network);
    const client = new Client(target, { bidirectionalBlock: true });
    try {
      const stream = client.serverMessages({ maxBuffered: 10 });
      await client.call("Push", "Hello", null);
      await assertHeldPushes(server, callers[0], client, stream, {
        count: 10_000,
        limit,
        maxBuffered: 10,
        ms: 20_000,
      });
    } finally {
      await client.close();
      await server.close();
    }
  });

  Deno.test(`push (${network}): bidirectionalBlock — an async onServerMessage paces the connection`, async () => {
    const { server, target, callers } = await pushServer({}, network);
    let running = 0;
    let maxRunning = 0;
    const seen: number[] = [];
    const client = new Client(target, {
      bidirectionalBlock: true,
      async onServerMessage(m) {
        maxRunning = Math.max(maxRunning, ++running);
        await new Promise((r) => setTimeout(r, 1));
        seen.push(Number(m.metadata.i));
        running--;
      },
    });
    try {
      await client.call("Push", "Hello", null);
      await Promise.all(
        Array.from(
          { length: 200 },
          (_, i) => server.sendMessage(callers[0], "", "", { i: `${i}` }, "x"),
        ),
      );
      await waitFor("200 pushes handled", () => seen.length === 200, 10_000);
      assert.equal(maxRunning, 1);
      assert.deepEqual(seen, [...Array(200).keys()]);
    } finally {
      await client.close();
      await server.close();
    }
  });
}

Deno.test("push: a stream keeps by default at most 1024 messages (maxBuffered) and 16 MiB (maxBufferedBytes) unread", async () => {
  const { server, addr, callers } = await pushServer();
  const client = new Client(`tcp@${addr}`);
  try {
    await capturingWarn(async () => {
      // 1100 small pushes to a stream that is not read: 1024 kept.
      const byCount = client.serverMessages();
      await client.call("Push", "Hello", null);
      for (let i = 0; i < 1100; i++) await server.sendMessage(callers[0], "", "", {}, `${i}`);
      await client.call("Arith", "Mul", { A: 1, B: 1 }); // every push before it was read
      assert.equal(byCount.buffered, 1024);
      assert.equal(byCount.dropped, 76);
      await byCount.return();
      // 20 pushes of 1 MiB: 16 kept (16 MiB), the rest dropped.
      const byBytes = client.serverMessages();
      const mib = new Uint8Array(1 << 20).fill(1);
      for (let i = 0; i < 20; i++) await server.sendMessage(callers[0], "", "", {}, mib);
      await client.call("Arith", "Mul", { A: 1, B: 1 });
      assert.equal(byBytes.bufferedBytes, 16 * 1024 * 1024);
      assert.equal(byBytes.buffered, 16);
      assert.equal(byBytes.dropped, 4);
    });
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("push: a server queues by default at most 4 MiB of pushes per connection (pushBufferSize)", async () => {
  const { server, addr } = await pushServer();
  const peer = await rawPeer(addr); // never reads
  try {
    await waitFor("the connection", () => server.activeClientConn().length === 1, 5000);
    const [conn] = server.activeClientConn();
    const data = new Uint8Array(64 * 1024);
    const settled: Promise<unknown>[] = [];
    let refused: PushBufferFullError | undefined;
    let maxPending = 0;
    // Queued in one turn, so nothing is written meanwhile: the queue alone meets the limit.
    for (let i = 0; i < 200 && !refused; i++) {
      const p = server.sendMessage(conn, "", "", {}, data);
      settled.push(p.catch((e) => {
        if (e instanceof PushBufferFullError) refused ??= e;
      }));
      maxPending = Math.max(maxPending, server.pendingPushBytes(conn));
      await Promise.resolve(); // a refusal rejects at once
    }
    assert.ok(refused, "a push past 4 MiB was refused");
    assert.equal(refused.limit, 4 * 1024 * 1024);
    assert.ok(maxPending <= 4 * 1024 * 1024, `pending ${maxPending}`);
    assert.ok(maxPending > 4 * 1024 * 1024 - 2 * data.byteLength, `pending ${maxPending}`);
    peer.close();
    await bounded(Promise.all(settled), 5000, "the queued pushes to settle");
  } finally {
    peer.close();
    await server.close();
  }
});

Deno.test("push: a connection that closes puts no message into the stream; the stream ends when the client is closed", async () => {
  const { server, addr } = await pushServer();
  const client = new Client(`tcp@${addr}`);
  try {
    const stream = client.serverMessages();
    await client.call("Push", "Hello", null);
    const next = stream.next();
    let settled = false;
    void next.then(() => (settled = true));
    await server.close(); // the server closes the connection
    await waitFor("the client to see the close", () => !client.isConnected, 5000);
    await delay(300);
    assert.equal(settled, false, "nothing was put into the stream, and it did not end");
    assert.equal(stream.buffered, 0);
    await client.close();
    assert.deepEqual(await bounded(next, 2000, "the stream to end"), {
      value: undefined,
      done: true,
    });
  } finally {
    await client.close();
    await server.close();
  }
});
