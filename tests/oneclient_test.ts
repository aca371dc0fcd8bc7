// OneClient (Go's client.OneClient: one client for every service behind a discovery), and the
// round-robin pools XClientPool and OneClientPool (Go's NewXClientPool, NewOneClientPool), over
// real servers: ours and the Go rpcx peer.
import assert from "node:assert/strict";
import {
  type CallContext,
  ClientClosedError,
  ConnectionError,
  FailMode,
  MetadataKeys,
  MultipleServersDiscovery,
  OneClient,
  OneClientPool,
  Peer2PeerDiscovery,
  SelectMode,
  Server,
  type ServerMessage,
  type ServiceDiscovery,
  ServiceError,
  XClientPool,
} from "@rpcx/core";
import { BaseDiscovery, type KVPair, type Selector } from "@rpcx/core/extend";
import { bounded, freePort, waitFor } from "./support/env.ts";
import { needGoPeer, startGoServer } from "./support/go_peer.ts";

/** rpcx-examples `oneclient`'s server: Arith and a service named "echo". */
async function examplesServer(): Promise<{ server: Server; key: string }> {
  const server = new Server();
  await server.register({ Mul: (a: { A: number; B: number }) => ({ C: a.A * a.B }) }, "Arith");
  await server.register({ Say: (s: string) => s }, "echo");
  return { server, key: `tcp@${await server.serve("tcp", "127.0.0.1:0")}` };
}

/**
 * A registry-like discovery: each service path has its own list (as etcd's base/service/
 * prefixes); records its clones and which are closed.
 */
class ByService extends BaseDiscovery {
  readonly clones: ByService[] = [];
  isClosed = false;
  constructor(readonly lists: Map<string, KVPair[]>, readonly path: string) {
    super();
    this.publish(lists.get(path) ?? []);
  }
  clone(servicePath: string): ServiceDiscovery {
    const c = new ByService(this.lists, servicePath);
    this.clones.push(c);
    return c;
  }
  override close(): Promise<void> {
    this.isClosed = true;
    return super.close();
  }
}

Deno.test("OneClient: rpcx-examples oneclient — Arith.Mul and echo.Say through one client, an XClient per service made on first use", async () => {
  const { server, key } = await examplesServer();
  const one = new OneClient(FailMode.Failtry, SelectMode.RandomSelect, new Peer2PeerDiscovery(key));
  try {
    assert.deepEqual(one.services, []);
    assert.deepEqual(await one.call("Arith", "Mul", { A: 10, B: 20 }), { C: 200 });
    assert.equal(await one.call("echo", "Say", "hello world"), "hello world");
    assert.deepEqual(one.services.sort(), ["Arith", "echo"]);
    // The same XClient serves every call of a service.
    assert.equal(one.xclient("Arith"), one.xclient("Arith"));
    assert.equal(one.xclient("Arith").servicePath, "Arith");
    // Typed view, service errors as XClient's.
    const arith = one.typed<{ Mul(a: { A: number; B: number }): { C: number } }>("Arith");
    assert.deepEqual(await arith.Mul({ A: 3, B: 4 }), { C: 12 });
    await assert.rejects(one.call("Arith", "Div", {}), ServiceError);
  } finally {
    await one.close();
    await server.close();
  }
});

Deno.test("OneClient with the Go peer: Arith and Echo of a Go server through one client", async () => {
  if (!needGoPeer()) return;
  const go = await startGoServer(undefined, ["--services", "Arith,Echo"]);
  const one = new OneClient(
    FailMode.Failover,
    SelectMode.RoundRobin,
    new Peer2PeerDiscovery(go.key),
  );
  try {
    assert.deepEqual(await one.call("Arith", "Mul", { A: 6, B: 7 }), { C: 42 });
    const replyMetadata: Record<string, string> = {};
    assert.deepEqual(
      await one.call("Echo", "Meta", { Data: "x" }, { metadata: { k: "v" }, replyMetadata }),
      { Data: "x" },
    );
    assert.equal(replyMetadata.k, "v");
    assert.equal(`tcp@${replyMetadata[MetadataKeys.ServerAddress]}`, go.key);
    await assert.rejects(one.call("Echo", "Fail", {}), /deliberate failure/);
  } finally {
    await one.close();
    await go.stop();
  }
});

Deno.test("OneClient: each service follows its own clone of the discovery (as Go's discovery.Clone); close() closes the clones, not the discovery given", async () => {
  const a = new Server();
  const b = new Server();
  await a.register({ Who: () => "a" }, "SvcA");
  await b.register({ Who: () => "b" }, "SvcB");
  const keyA = `tcp@${await a.serve("tcp", "127.0.0.1:0")}`;
  const keyB = `tcp@${await b.serve("tcp", "127.0.0.1:0")}`;
  const lists = new Map([["SvcA", [{ key: keyA, value: "" }]], ["SvcB", [{
    key: keyB,
    value: "",
  }]]]);
  const root = new ByService(lists, "SvcA");
  const one = new OneClient(FailMode.Failfast, SelectMode.RandomSelect, root);
  try {
    assert.equal(root.clones.length, 0, "nothing is cloned before a call");
    assert.equal(await one.call("SvcA", "Who", null), "a");
    assert.equal(await one.call("SvcB", "Who", null), "b");
    assert.equal(await one.call("SvcB", "Who", null), "b");
    assert.deepEqual(root.clones.map((c) => c.path), ["SvcA", "SvcB"]);
    // A service with no server fails as an XClient does.
    await assert.rejects(one.call("SvcC", "Who", null), /no server available for SvcC/);
  } finally {
    await one.close();
    await a.close();
    await b.close();
  }
  assert.ok(root.clones.every((c) => c.isClosed), "the clones are closed");
  assert.equal(root.isClosed, false, "the discovery given stays open");
  await assert.rejects(one.call("SvcA", "Who", null), ClientClosedError);
  assert.throws(() => one.xclient("SvcA"), ClientClosedError);
  await root.close();
});

Deno.test("OneClient: broadcast, fork and inform per service over two servers", async () => {
  const servers = [new Server(), new Server()];
  const pairs: KVPair[] = [];
  for (const [i, s] of servers.entries()) {
    await s.register({
      Who: () => `s${i}`,
      Odd: () => {
        if (i === 0) throw new Error("s0 refuses");
        return "s1";
      },
    }, "Svc");
    pairs.push({ key: `tcp@${await s.serve("tcp", "127.0.0.1:0")}`, value: "" });
  }
  const one = new OneClient(
    FailMode.Failfast,
    SelectMode.RoundRobin,
    new MultipleServersDiscovery(pairs),
  );
  try {
    assert.deepEqual((await one.broadcast<string>("Svc", "Who", null)).sort(), ["s0", "s1"]);
    await assert.rejects(one.broadcast("Svc", "Odd", null), /s0 refuses/);
    assert.equal(await one.fork("Svc", "Odd", null), "s1");
    const receipts = await one.inform<string>("Svc", "Odd", null);
    assert.deepEqual(receipts.map((r) => r.address), pairs.map((p) => p.key.slice(4)));
    assert.ok(receipts[0].error instanceof ServiceError);
    assert.equal(receipts[0].reply, undefined);
    assert.deepEqual(receipts[1], { address: pairs[1].key.slice(4), reply: "s1" });
  } finally {
    await one.close();
    for (const s of servers) await s.close();
  }
});

Deno.test("OneClient push (Go's NewBidirectionalOneClient): pushes from the servers of every service arrive in one stream", async () => {
  const server = new Server();
  for (const svc of ["A", "B"]) {
    await server.register({
      Ping: (_: unknown, ctx: CallContext) => {
        setTimeout(() => server.sendMessage(ctx.conn, svc, "Pushed", {}, `from ${svc}`), 10);
        return "pong";
      },
    }, svc);
  }
  const key = `tcp@${await server.serve("tcp", "127.0.0.1:0")}`;
  const handled: string[] = [];
  const one = new OneClient(
    FailMode.Failfast,
    SelectMode.RandomSelect,
    new Peer2PeerDiscovery(key),
    {
      onServerMessage: (m) => void handled.push(m.servicePath),
    },
  );
  const stream = one.serverMessages();
  try {
    assert.equal(await one.call("A", "Ping", null), "pong");
    assert.equal(await one.call("B", "Ping", null), "pong");
    const got: ServerMessage[] = [];
    await bounded(
      (async () => {
        for await (const m of stream) if (got.push(m) === 2) break;
      })(),
      5000,
      "two pushes",
    );
    assert.deepEqual(got.map((m) => new TextDecoder().decode(m.data)).sort(), ["from A", "from B"]);
    assert.deepEqual(got.map((m) => m.server).sort(), [key, key]);
    await waitFor("the handler got both", () => handled.length === 2, 2000);
  } finally {
    await one.close();
    await server.close();
  }
});

Deno.test("OneClient.setSelector: SelectByUser with a selector per service (Go's SetSelector)", async () => {
  const { server, key } = await examplesServer();
  const chosen: string[] = [];
  const mine = (name: string): Selector => ({
    select: () => {
      chosen.push(name);
      return key;
    },
    update: () => {},
  });
  const one = new OneClient(
    FailMode.Failfast,
    SelectMode.SelectByUser,
    new Peer2PeerDiscovery(key),
  );
  try {
    one.setSelector("Arith", mine("arith"));
    one.setSelector("echo", mine("echo"));
    await one.call("Arith", "Mul", { A: 1, B: 2 });
    await one.call("echo", "Say", "x");
    assert.deepEqual(chosen, ["arith", "echo"]);
    // A call at the wrong time is a bad argument: a TypeError.
    assert.throws(
      () => one.setSelector("Arith", mine("late")),
      (e) => e instanceof TypeError && /called already/.test(e.message),
    );
    // A service without a selector: the XClient's error, as a rejection.
    await assert.rejects(one.call("Other", "X", null), /SelectByUser needs options.selector/);
  } finally {
    await one.close();
    await server.close();
  }
});

/** A server counting the connections it accepted. */
async function countingServer(): Promise<{ server: Server; key: string; conns: () => number }> {
  let conns = 0;
  const server = new Server({
    plugins: [{ connAccept: () => void conns++ }],
  });
  await server.register({ Mul: (a: { A: number; B: number }) => ({ C: a.A * a.B }) }, "Arith");
  await server.register({ Say: (s: string) => s }, "echo");
  return { server, key: `tcp@${await server.serve("tcp", "127.0.0.1:0")}`, conns: () => conns };
}

Deno.test("XClientPool: get() hands out its clients round-robin, each with its own connection (rpcx-examples pool); close() closes them all", async () => {
  const { server, key, conns } = await countingServer();
  const pool = new XClientPool(
    10,
    "Arith",
    FailMode.Failtry,
    SelectMode.RandomSelect,
    new Peer2PeerDiscovery(key),
  );
  try {
    assert.equal(pool.size, 10);
    const seen = [];
    for (let i = 0; i < 100; i++) {
      const x = pool.get();
      seen.push(x);
      assert.deepEqual(await x.call("Mul", { A: 10, B: 20 }), { C: 200 });
    }
    assert.equal(new Set(seen).size, 10);
    for (let i = 0; i < 100; i++) assert.equal(seen[i], pool.clients[i % 10]);
    assert.equal(conns(), 10, "one connection per client");
  } finally {
    await pool.close();
  }
  for (const x of pool.clients) {
    await assert.rejects(x.call("Mul", { A: 1, B: 1 }), ClientClosedError);
  }
  await waitFor(
    "the server sees no connection left",
    () => server.activeClientConn().length === 0,
    3000,
  );
  await server.close();
  assert.throws(
    () =>
      new XClientPool(
        0,
        "Arith",
        FailMode.Failtry,
        SelectMode.RandomSelect,
        new Peer2PeerDiscovery(key),
      ),
    RangeError,
  );
});

Deno.test("XClientPool with the Go peer: 100 calls over 10 XClients of a Go server", async () => {
  if (!needGoPeer()) return;
  const go = await startGoServer(undefined, ["--services", "Arith"]);
  const pool = new XClientPool(
    10,
    "Arith",
    FailMode.Failtry,
    SelectMode.RandomSelect,
    new Peer2PeerDiscovery(go.key),
  );
  try {
    const replies = await Promise.all(
      Array.from({ length: 100 }, (_, i) => pool.get().call("Mul", { A: i, B: 2 })),
    );
    assert.deepEqual(replies, Array.from({ length: 100 }, (_, i) => ({ C: i * 2 })));
    assert.ok(pool.clients.every((x) => x.servers.length === 1));
  } finally {
    await pool.close();
    await go.stop();
  }
});

Deno.test("OneClientPool: round-robin over OneClients, every service through each; close() closes them all", async () => {
  const { server, key, conns } = await countingServer();
  const pool = new OneClientPool(
    3,
    FailMode.Failover,
    SelectMode.RoundRobin,
    new Peer2PeerDiscovery(key),
  );
  try {
    const seen = [];
    for (let i = 0; i < 9; i++) {
      const one = pool.get();
      seen.push(one);
      assert.deepEqual(await one.call("Arith", "Mul", { A: i, B: 3 }), { C: i * 3 });
      assert.equal(await one.call("echo", "Say", `x${i}`), `x${i}`);
    }
    assert.equal(new Set(seen).size, 3);
    assert.deepEqual(seen.slice(0, 3), [...pool.clients]);
    // Each OneClient has an XClient per service, each its connection.
    assert.equal(conns(), 6);
  } finally {
    await pool.close();
  }
  for (const one of pool.clients) {
    await assert.rejects(one.call("Arith", "Mul", { A: 1, B: 1 }), ClientClosedError);
  }
  await server.close();
});

Deno.test("pools: pushes to any client of the pool arrive in the pool's serverMessages() (Go's NewBidirectionalXClientPool)", async () => {
  const server = new Server();
  await server.register({
    Ping: (n: number, ctx: CallContext) => {
      setTimeout(() => server.sendMessage(ctx.conn, "Svc", "Pushed", {}, `p${n}`), 5);
      return n;
    },
  }, "Svc");
  const key = `tcp@${await server.serve("tcp", "127.0.0.1:0")}`;
  const pool = new XClientPool(
    2,
    "Svc",
    FailMode.Failfast,
    SelectMode.RandomSelect,
    new Peer2PeerDiscovery(key),
  );
  const stream = pool.serverMessages();
  try {
    await pool.get().call("Ping", 1);
    await pool.get().call("Ping", 2);
    const got: string[] = [];
    await bounded(
      (async () => {
        for await (const m of stream) if (got.push(new TextDecoder().decode(m.data)) === 2) break;
      })(),
      5000,
      "two pushes",
    );
    assert.deepEqual(got.sort(), ["p1", "p2"]);
  } finally {
    await pool.close();
    await server.close();
  }
});

Deno.test("OneClient: a refused server is a ConnectionError, retried by Failover on another server of the service", async () => {
  const { server, key } = await examplesServer();
  const dead = `tcp@127.0.0.1:${freePort()}`;
  const one = new OneClient(
    FailMode.Failover,
    SelectMode.RoundRobin,
    new MultipleServersDiscovery([{ key: dead, value: "" }, { key, value: "" }]),
  );
  const failfast = new OneClient(
    FailMode.Failfast,
    SelectMode.RoundRobin,
    new MultipleServersDiscovery([{ key: dead, value: "" }]),
  );
  try {
    for (let i = 0; i < 4; i++) assert.equal(await one.call("echo", "Say", `${i}`), `${i}`);
    await assert.rejects(failfast.call("echo", "Say", "x"), ConnectionError);
  } finally {
    await one.close();
    await failfast.close();
    await server.close();
  }
});
