// In-process is a network like the others (issue 24): the in-process checklist (calls and their
// errors, handleMessage, plugins' connAccept/connClose and what they see, pushes and their
// backpressure, graceful shutdown and drain, the in-process registry and an XClient, timeouts,
// listen/dial errors) runs on the built-in `inprocess` network AND on `mem`, a network written
// here on `pipe()` that the Server and Client know only through `networks`: whatever in-process
// gets, a custom network gets.
import assert from "node:assert/strict";
import {
  type CallContext,
  Client,
  ConnectionClosedError,
  ConnectionError,
  ConnectionRefusedError,
  type ConnInfo,
  FailMode,
  InprocessDiscovery,
  InprocessRegisterPlugin,
  InprocessRegistry,
  ListenError,
  SelectMode,
  SerializeType,
  Server,
  type ServerMessage,
  type ServerOptions,
  ServiceError,
  XClient,
} from "@rpcx/core";
import {
  type Connection,
  jsonCodec,
  type Listener,
  type Network,
  NetworkRegistry,
  pipe,
} from "@rpcx/core/extend";
import { createMessage } from "@rpcx/core/protocol";
import { Arith } from "../examples/arith.ts";
import { bounded, sleep, waitFor } from "./support/env.ts";
import { assertHeldPushes } from "./support/held_pushes.ts";

/**
 * A network of this test's own, on `pipe()`: names in a Map, a listener an async queue of the
 * server ends dialed to it. Nothing in the Server or Client names it.
 */
function memNetwork(name: string): Network {
  const listening = new Map<string, (c: Connection) => void>();
  let clients = 0;
  return {
    name,
    listen(address) {
      if (listening.has(address)) {
        return Promise.reject(new ListenError(name, address, "in-use", "name already in use"));
      }
      const queue: Connection[] = [];
      let wake: (() => void) | undefined;
      let closed = false;
      listening.set(address, (c) => {
        queue.push(c);
        wake?.();
      });
      const listener: Listener = {
        network: name,
        address,
        close() {
          if (closed) return;
          closed = true;
          listening.delete(address);
          for (const c of queue.splice(0)) c.close();
          wake?.();
        },
        async *[Symbol.asyncIterator]() {
          while (!closed) {
            const c = queue.shift();
            if (c) yield c;
            else await new Promise<void>((r) => (wake = r));
          }
        },
      };
      return Promise.resolve(listener);
    },
    dial(address) {
      const accept = listening.get(address);
      if (!accept) return Promise.reject(new ConnectionRefusedError(`${name}@${address}`));
      const [client, server] = pipe(name, `${name}-client-${++clients}`, address);
      accept(server);
      return Promise.resolve(client);
    },
  };
}

interface Net {
  readonly name: string;
  /** The `networks` option of its servers and clients (undefined: the default ones). */
  readonly networks?: NetworkRegistry;
}

const NETWORKS: Net[] = [
  { name: "inprocess" },
  { name: "mem", networks: new NetworkRegistry().register(memNetwork("mem")) },
];

let names = 0;
/** A name no other test serves. */
const fresh = (what: string) => `${what}-${++names}`;

for (const net of NETWORKS) {
  const { networks } = net;
  const server = (o: ServerOptions = {}) => new Server({ networks, ...o });
  const client = (address: string, o: ConstructorParameters<typeof Client>[1] = {}) =>
    new Client(address, { networks, ...o });

  Deno.test(`${net.name}: calls with each codec, service errors, handleMessage, ListenError on a name served, ConnectionRefusedError on one nobody serves`, async () => {
    const s = server();
    await s.register(new Arith());
    const name = fresh("calls");
    assert.equal(await s.serve(net.name, name), name);
    assert.equal(s.address, `${net.name}@${name}`);
    const json = client(`${net.name}@${name}`, { serializeType: SerializeType.JSON });
    const msgpack = client(`${net.name}@${name}`, { serializeType: SerializeType.MsgPack });
    try {
      assert.deepEqual(await json.call("Arith", "Mul", { A: 6, B: 7 }), { C: 42 });
      assert.deepEqual(await msgpack.call("Arith", "Add", { A: 6, B: 7 }), { C: 13 });
      await assert.rejects(json.call("Arith", "Nope", {}), (e: Error) => {
        assert.ok(e instanceof ServiceError);
        assert.equal(e.message, "rpcx: can't find method Nope");
        return true;
      });
      const res = await s.handleMessage(createMessage({
        seq: 1n,
        servicePath: "Arith",
        serviceMethod: "Mul",
        serializeType: SerializeType.JSON,
        payload: jsonCodec.encode({ A: 2, B: 3 }),
      }));
      assert.deepEqual(jsonCodec.decode(res!.payload), { C: 6 });

      await assert.rejects(server().serve(net.name, name), (e: Error) => {
        assert.ok(e instanceof ListenError);
        assert.equal(e.reason, "in-use");
        assert.equal(e.message, `listen ${net.name} ${name}: name already in use`);
        return true;
      });
      const nobody = client(`${net.name}@${fresh("nobody")}`);
      await assert.rejects(nobody.call("Arith", "Mul", { A: 1, B: 1 }), (e: Error) => {
        assert.ok(e instanceof ConnectionError);
        assert.ok(e.cause instanceof ConnectionRefusedError, `cause ${e.cause}`);
        return true;
      });
      await nobody.close();
    } finally {
      await json.close();
      await msgpack.close();
      await s.close();
    }
  });

  Deno.test(`${net.name}: connAccept and connClose see each connection (network, the client's address, the name served); a refused one fails its call at once`, async () => {
    const accepted: ConnInfo[] = [];
    const closed: ConnInfo[] = [];
    let refuse = false;
    const s = server({
      plugins: [{
        connAccept: (c) => (accepted.push(c), !refuse),
        connClose: (c) => void closed.push(c),
      }],
    });
    await s.register(new Arith());
    const name = fresh("plugins");
    await s.serve(net.name, name);
    const c = client(`${net.name}@${name}`);
    try {
      await c.call("Arith", "Mul", { A: 1, B: 2 });
      assert.equal(accepted.length, 1);
      const [info] = accepted;
      assert.equal(info.network, net.name);
      assert.equal(info.localAddress, name);
      assert.match(info.remoteAddress, new RegExp(`^${net.name}-client-\\d+$`));
      assert.deepEqual(s.activeClientConn(), [info]);
      await c.close();
      await waitFor("connClose", () => closed.length === 1, 2000, 5);
      assert.equal(closed[0], info);
      assert.equal(s.metrics().activeConnections, 0);

      refuse = true;
      const refused = client(`${net.name}@${name}`);
      await assert.rejects(
        bounded(refused.call("Arith", "Mul", { A: 1, B: 2 }), 2000, "refused call"),
        ConnectionError,
      );
      await refused.close();
      assert.equal(accepted.length, 2);
      assert.equal(s.metrics().connectionsAccepted, 1);
    } finally {
      await c.close();
      await s.close();
    }
  });

  Deno.test(`${net.name}: pushes reach the caller's client; with bidirectionalBlock a reader that stops holds the pusher (PushBufferFullError), none dropped`, async () => {
    const limit = 64 * 1024;
    const s = server({ pushBufferSize: limit });
    const callers: ConnInfo[] = [];
    await s.registerFunction("Push", function Hello(_: unknown, ctx: CallContext) {
      callers.push(ctx.conn);
      return "hello";
    });
    const name = fresh("push");
    await s.serve(net.name, name);
    const got: ServerMessage[] = [];
    const plain = client(`${net.name}@${name}`, { onServerMessage: (m) => void got.push(m) });
    const blocking = client(`${net.name}@${name}`, { bidirectionalBlock: true });
    try {
      await plain.call("Push", "Hello", null);
      await s.sendMessage(callers[0], "News", "Tick", { k: "v" }, "hello");
      await waitFor("the push", () => got.length === 1, 2000, 5);
      assert.equal(got[0].server, `${net.name}@${name}`);
      assert.equal(got[0].serviceMethod, "Tick");
      assert.equal(got[0].metadata.k, "v");
      assert.equal(new TextDecoder().decode(got[0].data), "hello");

      const stream = blocking.serverMessages({ maxBuffered: 4 });
      await blocking.call("Push", "Hello", null);
      await assertHeldPushes(s, callers[1], blocking, stream, {
        count: 200,
        limit,
        maxBuffered: 4,
        ms: 5000,
      });
    } finally {
      await plain.close();
      await blocking.close();
      await s.close();
    }
  });

  Deno.test(`${net.name}: graceful shutdown answers the call in flight, refuses a new one on the draining connection, and frees the name`, async () => {
    const s = server();
    let started = 0;
    await s.register({
      Slow: async (_: unknown, ctx: CallContext) => {
        started++;
        await sleep(200, ctx.signal);
        return "done";
      },
      Fast: () => "fast",
    }, "Svc");
    const name = fresh("drain");
    await s.serve(net.name, name);
    const c = client(`${net.name}@${name}`);
    try {
      const slow = c.call("Svc", "Slow", null);
      await waitFor("the slow call", () => started === 1, 2000, 5);
      const stopping = s.shutdown({ timeout: 3000 });
      await assert.rejects(c.call("Svc", "Fast", null), ConnectionClosedError);
      assert.equal(await bounded(slow, 3000, "the call in flight"), "done");
      await bounded(stopping, 3000, "shutdown");
      const again = server();
      await again.register({ Fast: () => "again" }, "Svc");
      await again.serve(net.name, name);
      assert.equal(await c.call("Svc", "Fast", null), "again");
      await again.close();
    } finally {
      await c.close();
      await s.close();
    }
  });

  Deno.test(`${net.name}: InprocessRegisterPlugin lists ${net.name}@name; an XClient with InprocessDiscovery calls it; shutdown withdraws it`, async () => {
    const registry = new InprocessRegistry();
    const name = fresh("listed");
    const s = server({ plugins: [new InprocessRegisterPlugin({ registry })] });
    await s.register(new Arith(), "Arith", "weight=3");
    await s.serve(net.name, name);
    assert.deepEqual(registry.list("Arith"), [{ key: `${net.name}@${name}`, value: "weight=3" }]);
    const d = new InprocessDiscovery("Arith", registry);
    const x = new XClient("Arith", FailMode.Failover, SelectMode.RoundRobin, d, { networks });
    try {
      assert.deepEqual(await x.call("Mul", { A: 3, B: 4 }), { C: 12 });
      await s.unregister("Arith");
      assert.deepEqual(registry.list("Arith"), []);
      await s.register(new Arith(), "Arith", "weight=3");
      assert.deepEqual(x.servers, [`${net.name}@${name}`]);
      await s.shutdown({ timeout: 2000 });
      assert.deepEqual(registry.list("Arith"), []);
      assert.deepEqual(x.servers, []);
    } finally {
      await x.close();
      await d.close();
      await s.close();
    }
  });

  Deno.test(`${net.name}: the server's writeTimeout closes a connection whose client stopped reading`, async () => {
    const closed: ConnInfo[] = [];
    const callers: ConnInfo[] = [];
    const s = server({ writeTimeout: 200, plugins: [{ connClose: (c) => void closed.push(c) }] });
    await s.registerFunction("Push", function Hello(_: unknown, ctx: CallContext) {
      callers.push(ctx.conn);
      return "hello";
    });
    const name = fresh("write-timeout");
    await s.serve(net.name, name);
    const c = client(`${net.name}@${name}`, { bidirectionalBlock: true });
    const stream = c.serverMessages({ maxBuffered: 1 }); // never read
    try {
      await c.call("Push", "Hello", null);
      // One push a turn: once the stream is full the client stops taking them, and the server's
      // write of the next one waits.
      const pushes: Promise<void>[] = [];
      for (let i = 0; i < 5; i++) {
        pushes.push(s.sendMessage(callers[0], "", "", {}, "x").catch(() => {}));
        await sleep(5);
      }
      const t0 = Date.now();
      await waitFor("the connection closed", () => closed.length === 1, 3000, 10);
      assert.ok(Date.now() - t0 >= 150, `closed after ${Date.now() - t0} ms, before the timeout`);
      await Promise.all(pushes);
      assert.equal(stream.buffered, 1);
    } finally {
      await c.close();
      await s.close();
    }
  });

  Deno.test(`${net.name}: the server's idleTimeout closes an idle connection; heartbeats keep one open`, async () => {
    const closed: ConnInfo[] = [];
    const s = server({ idleTimeout: 150, plugins: [{ connClose: (c) => void closed.push(c) }] });
    await s.register(new Arith());
    const name = fresh("idle");
    await s.serve(net.name, name);
    const idle = client(`${net.name}@${name}`);
    const beating = client(`${net.name}@${name}`, { heartbeat: true, heartbeatInterval: 30 });
    try {
      await idle.call("Arith", "Mul", { A: 1, B: 1 });
      await beating.call("Arith", "Mul", { A: 1, B: 1 });
      await waitFor("the idle connection closed", () => closed.length === 1, 3000, 10);
      await sleep(300);
      assert.equal(closed.length, 1, "the heartbeating connection stays");
      assert.equal(s.activeClientConn().length, 1);
      // The closed one dials again on its next call.
      assert.deepEqual(await idle.call("Arith", "Mul", { A: 2, B: 3 }), { C: 6 });
    } finally {
      await idle.close();
      await beating.close();
      await s.close();
    }
  });
}
