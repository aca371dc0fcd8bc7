// Client plugins (src/client/plugin.ts) on real sockets: every hook point, its order, and the
// error policy of each hook when a plugin throws.
import assert from "node:assert/strict";
import {
  type CallContext,
  Client,
  ConnectionError,
  FailMode,
  type LogFields,
  type Logger,
  MultipleServersDiscovery,
  SelectMode,
  SerializeType,
  Server,
  setLogger,
  XClient,
} from "@rpcx/core";
import type { ClientCall, ClientPlugin } from "@rpcx/core/extend";
import { createMessage, type Message } from "@rpcx/core/protocol";
import { Arith } from "../examples/arith.ts";
import { freePort, waitFor } from "./support/env.ts";

class Meta {
  notes = 0;
  Echo(_args: unknown, ctx: CallContext): Record<string, string> {
    return { ...ctx.metadata };
  }
  Note(): void {
    this.notes++;
  }
}

async function serve(): Promise<{ server: Server; addr: string; meta: Meta }> {
  const server = new Server();
  const meta = new Meta();
  await server.register(meta, "Meta");
  await server.register(new Arith());
  const addr = await server.serve("tcp", "127.0.0.1:0");
  return { server, addr, meta };
}

/** Captures what the library logs while `fn` runs. */
async function captureLog(fn: () => Promise<void>): Promise<{ msg: string; fields: LogFields }[]> {
  const records: { msg: string; fields: LogFields }[] = [];
  const push = (msg: string, fields?: LogFields) => records.push({ msg, fields: fields ?? {} });
  const memory: Logger = { debug: push, info: push, warn: push, error: push };
  const previous = setLogger(memory);
  try {
    await fn();
  } finally {
    setLogger(previous);
  }
  return records;
}

Deno.test("client plugin: every hook runs, in order, with what it should see", async () => {
  const { server, addr } = await serve();
  const events: string[] = [];
  const seen: { call?: ClientCall; reply?: unknown; encoded?: Message; decoded?: Message } = {};
  const recorder: ClientPlugin = {
    name: "recorder",
    connCreated: (c) => void events.push(`connCreated ${c.address}`),
    clientConnected: (c) => void events.push(`clientConnected ${c.address}`),
    preCall(call) {
      events.push(`preCall ${call.servicePath}.${call.serviceMethod} oneway=${call.oneway}`);
      call.metadata["x-from-plugin"] = "yes";
      seen.call = call;
    },
    beforeEncode(req) {
      events.push(`beforeEncode ${req.servicePath}.${req.serviceMethod}`);
      seen.encoded = req;
    },
    afterDecode(res) {
      events.push(`afterDecode ${res.servicePath}.${res.serviceMethod}`);
      seen.decoded = res;
    },
    postCall(call, reply, error) {
      events.push(`postCall ${call.serviceMethod} error=${error !== undefined}`);
      assert.equal(call, seen.call);
      seen.reply = reply;
    },
    connClose: (c) => void events.push(`connClose ${c.address}`),
  };
  const client = new Client(`tcp@${addr}`, { plugins: [recorder] });
  try {
    const metadata = { k: "v" };
    const reply = await client.call<Record<string, string>>("Meta", "Echo", {}, { metadata });
    // The metadata preCall added went over the wire; the caller's own object was not changed.
    assert.equal(reply["x-from-plugin"], "yes");
    assert.equal(reply.k, "v");
    assert.deepEqual(metadata, { k: "v" });
    assert.deepEqual(seen.reply, reply);
    assert.equal(seen.encoded?.metadata["x-from-plugin"], "yes");
    assert.equal(seen.decoded?.seq, seen.encoded?.seq);
    await client.send("Meta", "Note", {});
  } finally {
    await client.close();
    await server.close();
  }
  await waitFor("connClose", () => events.at(-1)?.startsWith("connClose") ?? false);
  // The connection is opened on first use, so inside the first call.
  assert.deepEqual(events, [
    "preCall Meta.Echo oneway=false",
    `connCreated tcp@${addr}`,
    `clientConnected tcp@${addr}`,
    "beforeEncode Meta.Echo",
    "afterDecode Meta.Echo",
    "postCall Echo error=false",
    "preCall Meta.Note oneway=true",
    "beforeEncode Meta.Note",
    "postCall Note error=false",
    `connClose tcp@${addr}`,
  ]);
});

Deno.test("client plugin: a throwing preCall fails the call and nothing is sent", async () => {
  const { server, addr } = await serve();
  const post: string[] = [];
  const refusal = new Error("no calls today");
  const plugins: ClientPlugin[] = [
    { name: "a", preCall() {}, postCall: (_c, _r, e) => void post.push(`a ${e}`) },
    {
      name: "b",
      preCall() {
        throw refusal;
      },
      postCall: () => void post.push("b"),
    },
    { name: "c", preCall() {}, postCall: () => void post.push("c") },
    { name: "d", postCall: () => void post.push("d") },
  ];
  const client = new Client(`tcp@${addr}`, { plugins });
  try {
    await assert.rejects(client.call("Arith", "Mul", { A: 2, B: 3 }), (e) => e === refusal);
    // d (no preCall) and a (preCall returned) are told, in reverse order; b and c are not.
    assert.deepEqual(post, ["d", `a ${refusal}`]);
    assert.equal(server.metrics().calls, 0);
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("client plugin: an async preCall is awaited before the request goes out", async () => {
  const { server, addr } = await serve();
  const client = new Client(`tcp@${addr}`, {
    plugins: [{
      async preCall(call) {
        await new Promise((r) => setTimeout(r, 20));
        call.metadata.late = "1";
      },
    }],
  });
  try {
    const reply = await client.call<Record<string, string>>("Meta", "Echo", {});
    assert.equal(reply.late, "1");
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("client plugin: throws in postCall, beforeEncode, afterDecode, clientConnected and connClose are logged, not fatal", async () => {
  const { server, addr } = await serve();
  const boom = (hook: string) => () => {
    throw new Error(`${hook} broke`);
  };
  const client = new Client(`tcp@${addr}`, {
    plugins: [{
      name: "clumsy",
      postCall: boom("postCall"),
      beforeEncode: boom("beforeEncode"),
      afterDecode: boom("afterDecode"),
      clientConnected: boom("clientConnected"),
      connClose: boom("connClose"),
    }],
  });
  const records = await captureLog(async () => {
    try {
      assert.deepEqual(await client.call("Arith", "Mul", { A: 6, B: 7 }), { C: 42 });
    } finally {
      await client.close();
      await server.close();
    }
  });
  const hooks = records.map((r) => `${r.fields.plugin} ${r.fields.hook}: ${r.fields.error}`);
  assert.deepEqual(hooks.sort(), [
    "clumsy afterDecode: afterDecode broke",
    "clumsy beforeEncode: beforeEncode broke",
    "clumsy clientConnected: clientConnected broke",
    "clumsy connClose: connClose broke",
    "clumsy postCall: postCall broke",
  ]);
});

Deno.test("client plugin: a throwing connCreated refuses the connection; connCreateFailed is told", async () => {
  const { server, addr } = await serve();
  const failed: string[] = [];
  let refuse = true;
  const client = new Client(`tcp@${addr}`, {
    plugins: [{
      connCreated() {
        if (refuse) throw new Error("not this one");
      },
      connCreateFailed: (address, e) => void failed.push(`${address} ${(e as Error).message}`),
    }],
  });
  try {
    await assert.rejects(
      client.call("Arith", "Mul", { A: 1, B: 1 }),
      (e) => e instanceof ConnectionError && (e.cause as Error).message === "not this one",
    );
    assert.deepEqual(failed, [`tcp@${addr} not this one`]);
    assert.equal(client.isConnected, false);
    await waitFor(
      "the server to drop the refused connection",
      () => server.metrics().activeConnections === 0,
    );
    refuse = false;
    assert.deepEqual(await client.call("Arith", "Mul", { A: 2, B: 2 }), { C: 4 });
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("client plugin: connCreateFailed is told when the dial fails", async () => {
  const failed: string[] = [];
  const address = `tcp@127.0.0.1:${freePort()}`;
  const client = new Client(address, {
    plugins: [{ connCreateFailed: (a, e) => void failed.push(`${a} ${e instanceof Error}`) }],
  });
  try {
    await assert.rejects(client.call("Arith", "Mul", { A: 1, B: 1 }), ConnectionError);
    assert.deepEqual(failed, [`${address} true`]);
  } finally {
    await client.close();
  }
});

Deno.test("client plugin: wrapSelect steers an XClient's node selection; plugins reach each connection", async () => {
  const a = await serve();
  const b = await serve();
  const avoid = `tcp@${a.addr}`;
  const calledOn: string[] = [];
  const plugin: ClientPlugin = {
    name: "skip-a",
    wrapSelect: (next) => (path, method, args) => {
      for (let i = 0; i < 4; i++) {
        const key = next(path, method, args);
        if (key !== avoid) return key;
      }
      return undefined;
    },
    preCall: (call) => void calledOn.push(call.address),
  };
  const x = new XClient(
    "Arith",
    FailMode.Failfast,
    SelectMode.RoundRobin,
    new MultipleServersDiscovery([{ key: avoid, value: "" }, { key: `tcp@${b.addr}`, value: "" }]),
    { plugins: [plugin] },
  );
  try {
    for (let i = 0; i < 10; i++) {
      assert.deepEqual(await x.call("Mul", { A: i, B: 2 }), { C: i * 2 });
    }
    assert.equal(a.server.metrics().calls, 0);
    assert.equal(b.server.metrics().calls, 10);
    assert.deepEqual(new Set(calledOn), new Set([`tcp@${b.addr}`]));
  } finally {
    await x.close();
    await a.server.close();
    await b.server.close();
  }
});

Deno.test("client plugin: a throwing wrapSelect fails the XClient call", async () => {
  const a = await serve();
  const x = new XClient(
    "Arith",
    FailMode.Failover,
    SelectMode.RoundRobin,
    new MultipleServersDiscovery([{ key: `tcp@${a.addr}`, value: "" }]),
    {
      plugins: [{
        wrapSelect: () => () => {
          throw new Error("no node for you");
        },
      }],
    },
  );
  try {
    await assert.rejects(x.call("Mul", { A: 1, B: 1 }), /no node for you/);
    assert.equal(a.server.metrics().calls, 0);
  } finally {
    await x.close();
    await a.server.close();
  }
});

Deno.test("client plugin: XClient.sendRaw runs preCall/postCall around it (payload as args), as Go's wrapSendRaw", async () => {
  const a = await serve();
  const seen: string[] = [];
  const x = new XClient(
    "Meta",
    FailMode.Failfast,
    SelectMode.RoundRobin,
    new MultipleServersDiscovery([{ key: `tcp@${a.addr}`, value: "" }]),
    {
      plugins: [{
        preCall(call) {
          seen.push(
            `pre ${call.servicePath}.${call.serviceMethod} ${call.args instanceof Uint8Array}`,
          );
          call.metadata["x-raw"] = "1";
        },
        postCall(_call, reply, error) {
          seen.push(`post ${(reply as Message | undefined)?.serviceMethod} ${error}`);
        },
      }],
    },
  );
  try {
    const metadata = { k: "v" };
    const res = await x.sendRaw(createMessage({
      serviceMethod: "Echo",
      serializeType: SerializeType.JSON,
      metadata,
      payload: new TextEncoder().encode("{}"),
    }));
    const reply = JSON.parse(new TextDecoder().decode(res!.payload));
    assert.equal(reply["x-raw"], "1");
    assert.equal(reply.k, "v");
    assert.deepEqual(metadata, { k: "v" }); // the caller's object is left alone
    assert.deepEqual(seen, ["pre Meta.Echo true", "post Echo undefined"]);
  } finally {
    await x.close();
    await a.server.close();
  }
});
