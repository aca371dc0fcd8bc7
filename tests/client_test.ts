// Client (one connection) over real sockets on 127.0.0.1.
import assert from "node:assert/strict";
import {
  CallAbortedError,
  type CallContext,
  CallTimeoutError,
  Client,
  ClientClosedError,
  CompressType,
  ConnectionClosedError,
  ConnectionError,
  MetadataKeys,
  SerializeType,
  Server,
  type ServerOptions,
  ServiceError,
} from "@rpcx/core";
import type { ServerPlugin } from "@rpcx/core/extend";
import { createMessage, FrameDecoder, FrameTooLargeError, type Message } from "@rpcx/core/protocol";
import { Arith } from "../examples/arith.ts";
import { bounded, delay, freePort, REPO_ROOT, sleep, waitFor } from "./support/env.ts";

async function startServer(
  setup: (s: Server) => void | Promise<void>,
  options: ServerOptions = {},
  address = "127.0.0.1:0",
): Promise<{ server: Server; addr: string }> {
  const server = new Server(options);
  await setup(server);
  const addr = await server.serve("tcp", address);
  return { server, addr };
}

/**
 * A TCP relay between a client and a server that counts the bytes each way, to see what really
 * crosses the wire.
 */
class CountingProxy {
  readonly listener: Deno.TcpListener;
  toServer = 0;
  toClient = 0;
  readonly #conns: Deno.Conn[] = [];
  readonly #pumps: Promise<void>[] = [];
  readonly #accepting: Promise<void>;

  constructor(readonly target: string) {
    this.listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.#accepting = this.#accept();
  }

  get addr(): string {
    return `127.0.0.1:${(this.listener.addr as Deno.NetAddr).port}`;
  }

  async #accept(): Promise<void> {
    try {
      for await (const down of this.listener) {
        const [hostname, port] = this.target.split(":");
        const up = await Deno.connect({ hostname, port: Number(port) });
        this.#conns.push(down, up);
        this.#pumps.push(
          this.#pump(down, up, (n) => (this.toServer += n)),
          this.#pump(up, down, (n) => (this.toClient += n)),
        );
      }
    } catch {
      // listener closed
    }
  }

  async #pump(from: Deno.Conn, to: Deno.Conn, count: (n: number) => void): Promise<void> {
    const buf = new Uint8Array(64 * 1024);
    try {
      while (true) {
        const n = await from.read(buf);
        if (n === null) break;
        count(n);
        let w = 0;
        while (w < n) w += await to.write(buf.subarray(w, n));
      }
    } catch {
      // either side closed
    }
    for (const c of [from, to]) {
      try {
        c.close();
      } catch {
        // already closed
      }
    }
  }

  async close(): Promise<void> {
    this.listener.close();
    for (const c of this.#conns) {
      try {
        c.close();
      } catch {
        // already closed
      }
    }
    await this.#accepting;
    await Promise.all(this.#pumps);
  }
}

/** `Slow.Wait(ms)`: replies `ms` after `ms` milliseconds, or as soon as the call is aborted. */
function slowService() {
  return { Wait: (ms: number, ctx: CallContext) => sleep(ms, ctx.signal).then(() => ms) };
}

Deno.test("call, go and send (oneway: the method runs, no reply frame crosses the wire)", async () => {
  const notes: string[] = [];
  const { server, addr } = await startServer(async (s) => {
    await s.register(new Arith());
    await s.register({ Note: (text: string) => void notes.push(text) }, "Log");
  });
  const proxy = new CountingProxy(addr);
  const client = new Client(`tcp@${proxy.addr}`);
  try {
    // oneway first, on a fresh connection: nothing may come back at all
    await client.send("Log", "Note", "first");
    await waitFor("the oneway method to run", () => notes.length === 1, 2000, 5);
    assert.deepEqual(notes, ["first"]);
    await delay(150);
    assert.ok(proxy.toServer > 0, "the request went out");
    assert.equal(proxy.toClient, 0, "a oneway call gets no reply frame");
    assert.equal(client.pendingCalls, 0);

    assert.deepEqual(await client.call("Arith", "Mul", { A: 10, B: 20 }), { C: 200 });
    assert.ok(proxy.toClient > 0, "a normal call gets a reply frame");

    const pending = client.go<{ C: number }>("Arith", "Add", { A: 2, B: 3 });
    assert.equal(pending.servicePath, "Arith");
    assert.equal(pending.serviceMethod, "Add");
    assert.deepEqual(await pending.done, { C: 5 });

    const received = proxy.toClient;
    await client.send("Log", "Note", "second");
    await waitFor("the second oneway method to run", () => notes.length === 2, 2000, 5);
    await delay(100);
    assert.equal(proxy.toClient, received, "still no reply for oneway");
    assert.equal(server.metrics().connectionsAccepted, 1, "one connection for everything");
  } finally {
    await client.close();
    await proxy.close();
    await server.close();
  }
});

Deno.test("go: abort() rejects done with CallAbortedError", async () => {
  const { server, addr } = await startServer((s) => s.register(slowService(), "Slow"));
  const client = new Client(addr);
  try {
    const p = client.go("Slow", "Wait", 2000);
    await delay(20);
    p.abort(new Error("changed my mind"));
    await assert.rejects(bounded(p.done, 3000, "aborted go"), (e) => {
      assert.ok(e instanceof CallAbortedError);
      assert.match((e as Error).message, /changed my mind/);
      return true;
    });
    assert.equal(client.pendingCalls, 0);
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("metadata goes to the server and reply metadata comes back", async () => {
  const { server, addr } = await startServer((s) =>
    s.register({
      Echo(args: string, ctx: CallContext) {
        ctx.replyMetadata["seen-trace"] = ctx.metadata["trace"] ?? "none";
        ctx.replyMetadata["server"] = "deno";
        return args.toUpperCase();
      },
    }, "Meta")
  );
  const client = new Client(`tcp@${addr}`, { serializeType: SerializeType.JSON });
  try {
    const replyMetadata: Record<string, string> = {};
    const r = await client.call("Meta", "Echo", "abc", {
      metadata: { trace: "t-123" },
      replyMetadata,
    });
    assert.equal(r, "ABC");
    assert.equal(replyMetadata["seen-trace"], "t-123");
    assert.equal(replyMetadata["server"], "deno");

    const none: Record<string, string> = {};
    await client.call("Meta", "Echo", "x", { replyMetadata: none });
    assert.equal(none["seen-trace"], "none");
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("timeout: CallTimeoutError; the server sees __ServerTimeout and ctx.deadline", async () => {
  let seenTimeout: string | undefined;
  let seenDeadline: number | undefined;
  let seenAt = 0;
  const { server, addr } = await startServer((s) =>
    s.register({
      async Wait(ms: number, ctx: CallContext) {
        seenTimeout = ctx.metadata[MetadataKeys.ServerTimeout];
        seenDeadline = ctx.deadline;
        seenAt = Date.now();
        await sleep(ms, ctx.signal);
        // Aborted by the server's own deadline: answer well after the client's timeout, so a
        // client timer delayed by a loaded machine never loses the race to this reply.
        if (ctx.signal.aborted) await sleep(1000);
        return ms;
      },
    }, "Slow")
  );
  const client = new Client(addr);
  try {
    const start = performance.now();
    const slow = client.call("Slow", "Wait", 2000, { timeout: 150 });
    await assert.rejects(bounded(slow, 3000, "call with a timeout"), (e) => {
      assert.ok(e instanceof CallTimeoutError, `got ${e}`);
      assert.equal((e as CallTimeoutError).timeout, 150);
      return true;
    });
    const took = performance.now() - start;
    assert.ok(took >= 140 && took < 1000, `timed out after ${took} ms`);
    assert.equal(seenTimeout, "150");
    assert.ok(seenDeadline !== undefined, "ctx.deadline set");
    const left = seenDeadline! - seenAt;
    assert.ok(left > 0 && left <= 150, `deadline ${left} ms after the call started`);
    assert.equal(client.pendingCalls, 0);

    // the client's default timeout applies too, and a fast call within it succeeds
    const c2 = new Client(addr, { timeout: 100 });
    try {
      assert.equal(await c2.call("Slow", "Wait", 1), 1);
      assert.equal(seenTimeout, "100");
      await assert.rejects(c2.call("Slow", "Wait", 1000), CallTimeoutError);
    } finally {
      await c2.close();
    }
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("AbortSignal: CallAbortedError, before and during the call", async () => {
  const { server, addr } = await startServer((s) => s.register(slowService(), "Slow"));
  const client = new Client(addr);
  try {
    const ac = new AbortController();
    const call = client.call("Slow", "Wait", 2000, { signal: ac.signal });
    setTimeout(() => ac.abort(new Error("user left")), 50);
    const start = performance.now();
    await assert.rejects(bounded(call, 3000, "aborted call"), (e) => {
      assert.ok(e instanceof CallAbortedError, `got ${e}`);
      assert.ok((e as Error).cause instanceof Error);
      return true;
    });
    assert.ok(performance.now() - start < 1000);
    assert.equal(client.pendingCalls, 0);

    await assert.rejects(
      client.call("Slow", "Wait", 1, { signal: AbortSignal.abort("gone") }),
      CallAbortedError,
    );
    // the connection is still good
    assert.equal(await client.call("Slow", "Wait", 1), 1);
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("AbortSignal fired while the connection is being opened still aborts the call", async () => {
  let ran = 0;
  const { server, addr } = await startServer((s) => s.register({ Run: () => ++ran }, "Svc"));
  const client = new Client(addr);
  try {
    const ac = new AbortController();
    const call = client.call("Svc", "Run", null, { signal: ac.signal });
    ac.abort(new Error("too late"));
    await assert.rejects(bounded(call, 3000, "call aborted while dialing"), CallAbortedError);
    await delay(50);
    assert.equal(ran, 0, "an aborted call is not sent");
    assert.equal(await client.call("Svc", "Run", null), 1);
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("server closes the connection mid-call: every pending call gets ConnectionClosedError", async () => {
  let started = 0;
  const { server, addr } = await startServer((s) =>
    s.register({
      async Hang(_: unknown, ctx: CallContext) {
        started++;
        await sleep(10_000, ctx.signal);
        return "late";
      },
    }, "Hang")
  );
  const client = new Client(addr);
  try {
    const calls = Array.from({ length: 5 }, () => client.call("Hang", "Hang", null));
    await waitFor("all calls to reach the server", () => started === 5, 2000, 5);
    assert.equal(client.pendingCalls, 5);
    const start = performance.now();
    await server.close();
    const results = await bounded(Promise.allSettled(calls), 3000, "pending calls");
    assert.ok(performance.now() - start < 1000);
    for (const r of results) {
      assert.equal(r.status, "rejected");
      const e = (r as PromiseRejectedResult).reason;
      assert.ok(e instanceof ConnectionClosedError, `got ${e}`);
      assert.ok(e instanceof ConnectionError);
    }
    assert.equal(client.pendingCalls, 0);
    assert.equal(client.isConnected, false);
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("reconnects on demand after the server restarts on the same port", async () => {
  const first = await startServer((s) => s.register(new Arith()));
  const port = Number(first.addr.split(":")[1]);
  const client = new Client(first.addr);
  let second: Server | undefined;
  try {
    assert.deepEqual(await client.call("Arith", "Mul", { A: 2, B: 3 }), { C: 6 });
    assert.equal(client.isConnected, true);
    await first.server.close();
    await waitFor("the client to see the close", () => !client.isConnected, 2000, 5);
    // down: a call now fails with a transport error
    await assert.rejects(client.call("Arith", "Mul", { A: 1, B: 1 }), ConnectionError);

    second = (await startServer((s) => s.register(new Arith()), {}, `127.0.0.1:${port}`)).server;
    assert.deepEqual(await client.call("Arith", "Mul", { A: 4, B: 5 }), { C: 20 });
    assert.equal(client.isConnected, true);
    assert.equal(second.metrics().connectionsAccepted, 1);
  } finally {
    await client.close();
    await first.server.close();
    await second?.close();
  }
});

Deno.test("dialing a closed port fails quickly with ConnectionError", async () => {
  const port = freePort();
  const client = new Client(`tcp@127.0.0.1:${port}`);
  try {
    const start = performance.now();
    await assert.rejects(client.call("Arith", "Mul", { A: 1, B: 2 }), (e) => {
      assert.ok(e instanceof ConnectionError, `got ${e}`);
      assert.ok(!(e instanceof ConnectionClosedError));
      assert.match((e as Error).message, new RegExp(`127\\.0\\.0\\.1:${port}`));
      return true;
    });
    assert.ok(performance.now() - start < 500, "refusal is reported at once");
    await assert.rejects(client.connect(), ConnectionError);
    assert.equal(client.isConnected, false);
  } finally {
    await client.close();
  }
});

Deno.test("closed client: calls fail with ClientClosedError", async () => {
  const { server, addr } = await startServer((s) => s.register(new Arith()));
  const client = new Client(addr);
  try {
    assert.deepEqual(await client.call("Arith", "Add", { A: 1, B: 1 }), { C: 2 });
    await client.close();
    assert.equal(client.isClosed, true);
    await assert.rejects(client.call("Arith", "Add", { A: 1, B: 1 }), ClientClosedError);
    await waitFor("the server to see the close", () => server.metrics().activeConnections === 0);
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("close() with calls in flight: each rejects at once with ClientClosedError; nothing is dialed or sent again", async () => {
  let runs = 0;
  const { server, addr } = await startServer((s) =>
    s.register({
      Wait: (ms: number, ctx: CallContext) => (runs++, sleep(ms, ctx.signal).then(() => ms)),
    }, "Slow")
  );
  const client = new Client(addr, { heartbeat: true, heartbeatInterval: 50 });
  try {
    const calls = [400, 400, 60_000].map((ms) =>
      client.call("Slow", "Wait", ms).then(
        () => ({ error: undefined as unknown, at: performance.now() }),
        (error: unknown) => ({ error, at: performance.now() }),
      )
    );
    await waitFor("the calls to start", () => runs === 3, 5000, 5);
    const closedAt = performance.now();
    await client.close();
    for (const { error, at } of await bounded(Promise.all(calls), 3000, "calls after close()")) {
      assert.ok(error instanceof ClientClosedError, `settled with ${error}`);
      assert.ok(at - closedAt < 200, `rejected ${at - closedAt} ms after close()`);
    }
    await waitFor("the server to see the close", () => server.metrics().activeConnections === 0);
    // No reconnect (heartbeats stopped too), nothing sent again.
    await delay(300);
    assert.equal(server.metrics().activeConnections, 0);
    assert.equal(runs, 3);
    assert.equal(client.isConnected, false);
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("close() while the connection is being opened: the waiting call rejects at once, the socket is closed", async () => {
  // A listener that accepts and never answers the WebSocket upgrade: the dial waits for it.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const conns: Deno.Conn[] = [];
  const ended: Promise<void>[] = [];
  const accepting = (async () => {
    try {
      for await (const c of listener) {
        conns.push(c);
        ended.push((async () => {
          const buf = new Uint8Array(4096);
          try {
            while ((await c.read(buf)) !== null) { /* discard */ }
          } catch {
            // closed
          }
        })());
      }
    } catch {
      // listener closed
    }
  })();
  const client = new Client(`ws@127.0.0.1:${port}`, { connectTimeout: 1500 });
  try {
    const call = client.call("Arith", "Mul", { A: 1, B: 2 }).then(
      () => ({ error: undefined as unknown, at: performance.now() }),
      (error: unknown) => ({ error, at: performance.now() }),
    );
    await waitFor("the dial to reach the listener", () => conns.length === 1, 5000, 5);
    const closedAt = performance.now();
    await client.close();
    const { error, at } = await bounded(call, 3000, "the call after close()");
    assert.ok(error instanceof ClientClosedError, `settled with ${error}`);
    assert.ok(at - closedAt < 200, `rejected ${at - closedAt} ms after close()`);
    // The dial under way ends within connectTimeout and closes its socket.
    await bounded(ended[0], 3000, "the dialed socket to close");
    assert.equal(client.isConnected, false);
    assert.equal(conns.length, 1, "dialed once");
  } finally {
    await client.close();
    listener.close();
    for (const c of conns) {
      try {
        c.close();
      } catch {
        // closed by the peer already
      }
    }
    await accepting;
    await Promise.all(ended);
  }
});

Deno.test("reply metadata carries __ServerAddress: the server's host:port (Go's share.ServerAddress)", async () => {
  const { server, addr } = await startServer((s) => s.register(new Arith()));
  const client = new Client(`tcp@${addr}`);
  try {
    const meta: Record<string, string> = {};
    assert.deepEqual(await client.call("Arith", "Mul", { A: 2, B: 3 }, { replyMetadata: meta }), {
      C: 6,
    });
    assert.deepEqual(meta, { [MetadataKeys.ServerAddress]: addr });
    const failed: Record<string, string> = {};
    await assert.rejects(
      client.call("Arith", "Nope", {}, { replyMetadata: failed }),
      ServiceError,
    );
    assert.equal(failed.__ServerAddress, addr);
    assert.ok(failed[MetadataKeys.ServiceError], "the error text is there too");
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("heartbeat: a silent peer is detected and the pending call fails within ~1 s", async () => {
  // A TCP server that accepts and reads but never answers anything.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const accepted: Deno.Conn[] = [];
  // What the client sent, decoded: its call, then heartbeats.
  const received: Message[] = [];
  const readers: Promise<void>[] = [];
  const accepting = (async () => {
    try {
      for await (const c of listener) {
        accepted.push(c);
        readers.push((async () => {
          const buf = new Uint8Array(4096);
          const decoder = new FrameDecoder();
          try {
            while (true) {
              const n = await c.read(buf);
              if (n === null) break;
              received.push(...decoder.push(buf.slice(0, n)));
            }
          } catch {
            // closed
          }
        })());
      }
    } catch {
      // listener closed
    }
  })();
  const client = new Client(`tcp@127.0.0.1:${port}`, {
    heartbeat: true,
    heartbeatInterval: 100,
    maxWaitForHeartbeat: 300,
  });
  try {
    const start = performance.now();
    const call = client.call("Arith", "Mul", { A: 1, B: 2 }); // no timeout
    await assert.rejects(bounded(call, 3000, "call to a silent peer"), (e) => {
      assert.ok(e instanceof ConnectionClosedError, `got ${e}`);
      return true;
    });
    const took = performance.now() - start;
    // No reply within maxWaitForHeartbeat (300 ms) after a heartbeat sent every 100 ms.
    assert.ok(took >= 300 && took < 2000, `detected after ${took} ms`);
    assert.equal(client.isConnected, false);
    assert.equal(received[0]?.serviceMethod, "Mul", "the call reached the peer");
    const beats = received.filter((m) => m.heartbeat);
    assert.ok(beats.length >= 1, `heartbeats sent: ${beats.length}`);
  } finally {
    await client.close();
    listener.close();
    for (const c of accepted) {
      try {
        c.close();
      } catch {
        // closed by the peer already
      }
    }
    await accepting;
    await Promise.all(readers);
  }
});

Deno.test("heartbeat: a live server answers and the connection stays up", async () => {
  let beats = 0;
  const counter: ServerPlugin = { heartbeat: () => void beats++ };
  const { server, addr } = await startServer((s) => s.register(new Arith()), {
    plugins: [counter],
  });
  const client = new Client(addr, {
    heartbeat: true,
    heartbeatInterval: 50,
    maxWaitForHeartbeat: 200,
  });
  try {
    await client.connect();
    await waitFor("5 heartbeats answered", () => beats >= 5, 5000, 10);
    assert.equal(client.isConnected, true);
    assert.deepEqual(await client.call("Arith", "Mul", { A: 3, B: 3 }), { C: 9 });
    assert.equal(server.metrics().connectionsAccepted, 1);
    const rtt = await client.heartbeat();
    assert.ok(rtt < 500, `heartbeat round trip ${rtt} ms`);
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("auth: the token is sent as __AUTH; a good one is accepted, a bad one refused", async () => {
  const tokens: (string | undefined)[] = [];
  const { server, addr } = await startServer((s) => s.register(new Arith()), {
    auth: (token) => {
      tokens.push(token);
      return token === "bearer s3cret";
    },
  });
  const good = new Client(addr, { auth: "bearer s3cret" });
  const bad = new Client(addr, { auth: "bearer wrong" });
  const none = new Client(addr);
  try {
    assert.deepEqual(await good.call("Arith", "Mul", { A: 6, B: 7 }), { C: 42 });
    assert.deepEqual(tokens, ["bearer s3cret"]);

    await assert.rejects(bad.call("Arith", "Mul", { A: 6, B: 7 }), (e) => {
      assert.ok(e instanceof ServiceError, `got ${e}`);
      assert.match((e as Error).message, /auth/);
      return true;
    });
    assert.equal(tokens[1], "bearer wrong");
    // Go rpcx closes the connection of a refused caller
    await waitFor("the refused connection to close", () => !bad.isConnected, 2000, 5);

    await assert.rejects(none.call("Arith", "Mul", { A: 1, B: 1 }), ServiceError);
    assert.equal(tokens[2], undefined);

    // an explicit __AUTH in the call's metadata wins over the client's token
    await assert.rejects(
      good.call("Arith", "Mul", { A: 1, B: 1 }, { metadata: { [MetadataKeys.Auth]: "nope" } }),
      ServiceError,
    );
  } finally {
    await good.close();
    await bad.close();
    await none.close();
    await server.close();
  }
});

Deno.test("serializers: JSON, MsgPack and raw bytes (SerializeNone)", async () => {
  const seenTypes: number[] = [];
  const { server, addr } = await startServer((s) =>
    s.register({
      Echo(args: unknown, ctx: CallContext) {
        seenTypes.push(ctx.serializeType);
        return args;
      },
      Reverse(bytes: Uint8Array) {
        return bytes.slice().reverse();
      },
    }, "Echo")
  );
  const json = new Client(addr, { serializeType: SerializeType.JSON });
  const msgpack = new Client(addr); // default MsgPack
  const raw = new Client(addr, { serializeType: SerializeType.SerializeNone });
  try {
    const value = { s: "héllo", n: 42, f: 1.5, list: [1, 2, 3], nested: { ok: true } };
    assert.deepEqual(await json.call("Echo", "Echo", value), value);
    assert.deepEqual(await msgpack.call("Echo", "Echo", value), value);
    assert.deepEqual(seenTypes, [SerializeType.JSON, SerializeType.MsgPack]);

    // MsgPack carries binary; JSON cannot
    const bin = new Uint8Array([0, 1, 2, 255]);
    assert.deepEqual(await msgpack.call("Echo", "Echo", bin), bin);

    const reversed = await raw.call<Uint8Array>("Echo", "Reverse", new Uint8Array([1, 2, 3, 4]));
    assert.ok(reversed instanceof Uint8Array);
    assert.deepEqual([...reversed], [4, 3, 2, 1]);
    // per-call override
    assert.deepEqual(
      await msgpack.call("Echo", "Echo", "text", { serializeType: SerializeType.JSON }),
      "text",
    );
    assert.equal(seenTypes.at(-1), SerializeType.JSON);
  } finally {
    await json.close();
    await msgpack.close();
    await raw.close();
    await server.close();
  }
});

Deno.test("gzip: compressed request, reply over 1024 bytes comes back gzipped and intact", async () => {
  const compressions: number[] = [];
  const spy: ServerPlugin = {
    preWriteResponse: (_req, res) => void compressions.push(res.compressType),
  };
  const { server, addr } = await startServer(
    (s) => s.register({ Repeat: (a: { text: string; n: number }) => a.text.repeat(a.n) }, "Text"),
    { plugins: [spy] },
  );
  const proxy = new CountingProxy(addr);
  const client = new Client(proxy.addr, {
    compressType: CompressType.Gzip,
    serializeType: SerializeType.JSON,
  });
  try {
    // Go's rule: only a request payload over 1024 bytes is compressed, and only a compressed
    // request gets a compressed reply.
    const pad = "p".repeat(2000);
    const reply = await client.call<string>("Text", "Repeat", {
      text: "rpcx-deno ",
      n: 10_000,
      pad,
    });
    assert.equal(reply.length, 100_000);
    assert.equal(reply, "rpcx-deno ".repeat(10_000));
    assert.ok(proxy.toClient < 10_000, `${proxy.toClient} bytes on the wire for a 100 kB reply`);
    assert.deepEqual(compressions, [CompressType.Gzip]);
    assert.equal(
      await client.call("Text", "Repeat", { text: "rpcx-deno ", n: 10_000 }),
      "rpcx-deno ".repeat(10_000),
    );
    assert.equal(compressions.pop(), CompressType.None, "small request: sent plain, reply plain");

    // a small reply is not compressed
    assert.equal(await client.call("Text", "Repeat", { text: "a", n: 3, pad }), "aaa");
    assert.equal(compressions[1], CompressType.None);
  } finally {
    await client.close();
    await proxy.close();
    await server.close();
  }
});

Deno.test("1000 concurrent calls on one connection: every reply matched to its call", async () => {
  const { server, addr } = await startServer((s) =>
    s.register({
      async Add(a: { A: number; B: number }) {
        // random completion order, so replies come back out of request order
        await delay(Math.floor(Math.random() * 20));
        return { C: a.A + a.B };
      },
    }, "Arith")
  );
  const client = new Client(addr);
  try {
    const n = 1000;
    const start = performance.now();
    const replies = await Promise.all(
      Array.from(
        { length: n },
        (_, i) => client.call<{ C: number }>("Arith", "Add", { A: i, B: i * 1000 }),
      ),
    );
    const took = performance.now() - start;
    for (let i = 0; i < n; i++) assert.equal(replies[i].C, i * 1001, `call ${i}`);
    assert.equal(server.metrics().connectionsAccepted, 1);
    assert.equal(server.metrics().calls, n);
    assert.equal(client.pendingCalls, 0);
    assert.ok(took < 10_000, `took ${took} ms`);
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("service errors arrive as ServiceError with the server's text; connection stays", async () => {
  const { server, addr } = await startServer((s) =>
    s.register({
      Fail() {
        throw new Error("deliberate failure");
      },
      Ok: () => "ok",
    }, "Svc")
  );
  const client = new Client(addr);
  try {
    await assert.rejects(client.call("Svc", "Fail", null), (e) => {
      assert.ok(e instanceof ServiceError);
      assert.equal((e as Error).message, "deliberate failure");
      return true;
    });
    await assert.rejects(client.call("Svc", "Nope", null), /can't find method Nope/);
    await assert.rejects(client.call("Nope", "Ok", null), /can't find service Nope/);
    assert.equal(await client.call("Svc", "Ok", null), "ok");
    assert.equal(server.metrics().connectionsAccepted, 1);
  } finally {
    await client.close();
    await server.close();
  }
});

/** A raw reply: the byte length of `b` as decimal text. */
function lengthBytes(b: Uint8Array): Uint8Array {
  return new TextEncoder().encode(String(b.byteLength));
}

Deno.test("an oversized request fails alone, naming the limit; calls in flight complete", async () => {
  const { server, addr } = await startServer((s) =>
    s.register({
      Slow: async (_: unknown, ctx: CallContext) => {
        await sleep(500, ctx.signal);
        return "slow done";
      },
      Bytes: (b: Uint8Array) => lengthBytes(b),
      Len: (s: string) => s.length,
    }, "Svc")
  );
  const raw = new Client(addr, { serializeType: SerializeType.SerializeNone });
  const json = new Client(addr, { serializeType: SerializeType.JSON });
  try {
    const limit = 16 * 1024 * 1024; // the default maxMessageLength of both sides
    const big = new Uint8Array(17 * 1024 * 1024).fill(7);
    crypto.getRandomValues(big.subarray(0, 65536));
    for (let i = 1; i < 272; i++) big.copyWithin(i * 65536, 0, 65536); // incompressible
    // Both connections open, then a slow call in flight on each.
    const asJson = { serializeType: SerializeType.JSON };
    for (const c of [raw, json]) {
      assert.equal(await c.call("Svc", "Slow", null, asJson), "slow done");
    }
    const tooLong = (e: unknown) => {
      assert.ok(e instanceof FrameTooLargeError, String(e));
      assert.equal(e.limit, limit);
      assert.match(e.message, /exceeds the limit of 16777216 bytes/);
      return true;
    };
    // Raw, gzip-compressed (still too long on the wire), JSON, oneway and sendRaw.
    const slow = Promise.allSettled([
      raw.call("Svc", "Slow", null, asJson),
      json.call("Svc", "Slow", null),
    ]);
    await assert.rejects(raw.call("Svc", "Bytes", big), tooLong);
    await assert.rejects(
      raw.call("Svc", "Bytes", big, { compressType: CompressType.Gzip }),
      tooLong,
    );
    await assert.rejects(json.call("Svc", "Len", "x".repeat(17 * 1024 * 1024)), tooLong);
    await assert.rejects(raw.send("Svc", "Bytes", big), tooLong);
    await assert.rejects(
      raw.sendRaw(createMessage({ servicePath: "Svc", serviceMethod: "Bytes", payload: big })),
      tooLong,
    );
    assert.deepEqual(
      (await bounded(slow, 3000, "calls in flight")).map((r) =>
        r.status === "fulfilled" ? r.value : String(r.reason)
      ),
      ["slow done", "slow done"],
    );
    assert.equal(server.metrics().activeConnections, 2, "no connection was dropped");
    // What gzip makes short enough passes: 17 MiB of zeros.
    assert.deepEqual(
      await raw.call("Svc", "Bytes", new Uint8Array(17 * 1024 * 1024), {
        compressType: CompressType.Gzip,
      }),
      lengthBytes(new Uint8Array(17 * 1024 * 1024)),
    );
  } finally {
    await Promise.all([raw.close(), json.close()]);
    await server.close();
  }
});

Deno.test("maxMessageLength: a request of exactly the limit is sent, one byte more is refused", async () => {
  const limit = 65536;
  const { server, addr } = await startServer(
    (s) => s.register({ Bytes: (b: Uint8Array) => lengthBytes(b) }, "Svc"),
    { maxMessageLength: limit },
  );
  const c = new Client(addr, {
    serializeType: SerializeType.SerializeNone,
    maxMessageLength: limit,
  });
  try {
    // total = 16 (four length fields) + "Svc" + "Bytes" + no metadata + payload
    const fits = limit - 16 - 3 - 5;
    assert.deepEqual(
      await c.call("Svc", "Bytes", new Uint8Array(fits)),
      lengthBytes(new Uint8Array(fits)),
    );
    await assert.rejects(c.call("Svc", "Bytes", new Uint8Array(fits + 1)), (e) => {
      assert.ok(e instanceof FrameTooLargeError);
      assert.equal(e.length, limit + 1);
      assert.equal(e.limit, limit);
      return true;
    });
    // Metadata counts too (a timeout adds __ServerTimeout).
    await assert.rejects(
      c.call("Svc", "Bytes", new Uint8Array(fits), { timeout: 5000 }),
      FrameTooLargeError,
    );
    assert.deepEqual(
      await c.call("Svc", "Bytes", new Uint8Array(fits - 100), { timeout: 5000 }),
      lengthBytes(new Uint8Array(fits - 100)),
    );
    assert.ok(c.isConnected);
  } finally {
    await c.close();
    await server.close();
  }
});

Deno.test("timeouts of many calls: each expires on time, whatever the others' timeouts and outcomes", async () => {
  const { server, addr } = await startServer((s) =>
    s.register({
      Wait: async (ms: number, ctx: CallContext) => {
        await sleep(ms, ctx.signal);
        return ms;
      },
    }, "Svc")
  );
  const c = new Client(addr);
  try {
    await c.call("Svc", "Wait", 0);
    const start = performance.now();
    const calls: Promise<[number, number, string]>[] = [];
    // 150 calls: timeouts of 1000, 1500 and 2000 ms interleaved; every third call's server
    // sleeps 4 s (it must time out), the others answer at once (they must not; a loaded
    // 2-core machine took up to 0.8 s to answer a burst of 600).
    for (let i = 0; i < 150; i++) {
      const timeout = [1000, 1500, 2000][i % 3];
      const ms = i % 9 < 3 ? 4000 : 0;
      calls.push(
        c.call<number>("Svc", "Wait", ms, { timeout }).then(
          () => [timeout, performance.now() - start, "ok"],
          (
            e,
          ) => [
            timeout,
            performance.now() - start,
            e instanceof CallTimeoutError ? `timeout ${e.message}` : String(e),
          ],
        ),
      );
    }
    const results = await bounded(Promise.all(calls), 8000, "the calls");
    for (const [i, [timeout, at, outcome]] of results.entries()) {
      if (i % 9 < 3) {
        assert.match(outcome, /^timeout /, `call ${i}`);
        assert.match(outcome, new RegExp(`${timeout}`), `call ${i} names its timeout`);
        assert.ok(at >= timeout - 5, `call ${i}: timed out at ${at} ms, before its ${timeout} ms`);
        assert.ok(
          at < timeout + 1000,
          `call ${i}: timed out at ${at} ms, long after ${timeout} ms`,
        );
      } else {
        assert.equal(outcome, "ok", `call ${i}`);
      }
    }
    // The connection is still usable and nothing is left pending.
    assert.equal(await c.call("Svc", "Wait", 0, { timeout: 2000 }), 0);
    assert.equal(c.pendingCalls, 0);
  } finally {
    await c.close();
    await server.close();
  }
});

Deno.test("one call at a time: a call's timeout expires on time when earlier calls of the same timeout settled", async () => {
  // The lane of a timeout keeps its timer (unreferenced) after its calls settle, and reuses it:
  // that timer is due at the first call's deadline, long before a later call's. A later call
  // must neither time out at that earlier deadline nor miss its own. The server ignores its
  // own copy of the timeout (__ServerTimeout), so only the client's timer can end the call.
  const { server, addr } = await startServer((s) =>
    s.register({
      Wait: async (ms: number) => {
        await sleep(ms);
        return ms;
      },
    }, "Svc")
  );
  const c = new Client(addr);
  try {
    for (const gap of [0, 300, 700]) {
      assert.equal(await c.call("Svc", "Wait", 0, { timeout: 1000 }), 0);
      // The later call starts `gap` ms after the earlier one settled (the point of the test).
      if (gap > 0) await sleep(gap);
      const start = performance.now();
      const e = await bounded(
        c.call("Svc", "Wait", 2500, { timeout: 1000 }).then(() => undefined, (e) => e),
        5000,
        "the call that must time out",
      );
      const at = performance.now() - start;
      assert.ok(e instanceof CallTimeoutError, `gap ${gap}: got ${e}`);
      assert.ok(at >= 995, `gap ${gap}: timed out after ${Math.round(at)} ms, before its 1000 ms`);
      assert.ok(at < 2000, `gap ${gap}: timed out after ${Math.round(at)} ms, long after 1000`);
    }
    assert.equal(c.pendingCalls, 0);
  } finally {
    await c.close();
    await server.close();
  }
});

Deno.test("a finished call with a long timeout does not keep the process alive", async () => {
  // A script that makes calls with a 60 s timeout (answered at once), then closes its client
  // and server, must exit at once: no timer of a settled call may hold the event loop.
  const script = `
    import { Client, Server } from "@rpcx/core";
    const server = new Server();
    await server.register({ Echo: (x) => x }, "E");
    const addr = await server.serve("tcp", "127.0.0.1:0");
    const client = new Client(addr);
    for (let i = 0; i < 3; i++) await client.call("E", "Echo", i, { timeout: 60_000 });
    await client.close();
    await server.close();
    console.log("done");
  `;
  const start = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", "--config", `${REPO_ROOT}/deno.json`, "--ext=ts", script],
    cwd: REPO_ROOT,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
  try {
    const out = await child.output();
    const took = performance.now() - start;
    assert.equal(new TextDecoder().decode(out.stdout).trim(), "done");
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    assert.ok(took < 15_000, `the process took ${Math.round(took)} ms to exit`);
  } finally {
    clearTimeout(timer);
  }
});
