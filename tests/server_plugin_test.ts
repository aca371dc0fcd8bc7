// The server plugin chain: every hook's one error policy (a throw and a rejected promise), and
// dispatch without a socket (Server.handleMessage). An unhandled rejection would fail this file.
import assert from "node:assert/strict";
import { type CallContext, Client, SerializeType, Server, ServiceError } from "@rpcx/core";
import { jsonCodec, type ServerPlugin } from "@rpcx/core/extend";
import {
  createMessage,
  encodeMessage,
  type Message,
  MessageStatusType,
  MessageType,
} from "@rpcx/core/protocol";
import { Arith } from "../examples/arith.ts";
import { delay, waitFor } from "./support/env.ts";
import { RawConn } from "./support/raw_conn.ts";
import { httpRequest, rawExchange } from "./support/raw_http.ts";

const enc = (v: unknown) => jsonCodec.encode(v);
const dec = (b: Uint8Array) => jsonCodec.decode(b);
const mul = (seq: bigint, extra: Partial<Message> = {}) =>
  createMessage({
    seq,
    serializeType: SerializeType.JSON,
    servicePath: "Arith",
    serviceMethod: "Mul",
    payload: enc({ A: 6, B: 7 }),
    ...extra,
  });

/** A server with Arith and `plugin`; reported errors collected in `reported` as "where". */
async function setup(plugin: ServerPlugin) {
  const reported: string[] = [];
  const server = new Server({
    plugins: [plugin],
    onError: (where) => void reported.push(where),
  });
  await server.register(new Arith(), "Arith");
  const addr = await server.serve("tcp", "127.0.0.1:0");
  return { server, addr, reported };
}

const boom = () => {
  throw new Error("boom");
};
const rejecting = () => Promise.reject(new Error("boom"));

for (const [how, fail] of [["throws", boom], ["rejects", rejecting]] as const) {
  Deno.test(`a preWriteResponse/postWriteResponse hook that ${how} is reported; the reply is still written`, async () => {
    for (const hook of ["preWriteResponse", "postWriteResponse"] as const) {
      const { server, addr, reported } = await setup({ name: "bad", [hook]: fail });
      const client = new Client(`tcp@${addr}`);
      try {
        assert.deepEqual(await client.call("Arith", "Mul", { A: 6, B: 7 }), { C: 42 });
        await waitFor(`${hook} reported`, () => reported.includes(`plugin bad ${hook}`));
        assert.deepEqual(await client.call("Arith", "Mul", { A: 1, B: 7 }), { C: 7 });
      } finally {
        await client.close();
        await server.close();
      }
    }
  });

  Deno.test(`a heartbeat hook that ${how} is reported; the heartbeat is still answered, the connection stays`, async () => {
    const { server, addr, reported } = await setup({ name: "bad", heartbeat: fail });
    const client = new Client(`tcp@${addr}`);
    try {
      for (let i = 0; i < 3; i++) await client.heartbeat({ timeout: 1000 });
      assert.ok(client.isConnected);
      await waitFor("heartbeat reported", () => reported.length === 3);
      assert.deepEqual(await client.call("Arith", "Mul", { A: 6, B: 7 }), { C: 42 });
    } finally {
      await client.close();
      await server.close();
    }
  });

  Deno.test(`a preHandleRequest hook that ${how} is reported; the call still runs`, async () => {
    const { server, addr, reported } = await setup({ name: "bad", preHandleRequest: fail });
    const client = new Client(`tcp@${addr}`);
    try {
      assert.deepEqual(await client.call("Arith", "Mul", { A: 6, B: 7 }), { C: 42 });
      assert.deepEqual(reported, ["plugin bad preHandleRequest"]);
    } finally {
      await client.close();
      await server.close();
    }
  });

  Deno.test(`a preWriteRequest/postWriteRequest (push) hook that ${how} is reported; the push is still written`, async () => {
    const { server, addr, reported } = await setup({
      name: "bad",
      preWriteRequest: fail,
      postWriteRequest: fail,
    });
    server.registerFunction("Push", function Me(_args: unknown, ctx: CallContext) {
      setTimeout(() => server.sendMessage(ctx.conn, "news", "tick", {}, "hello"), 0);
      return {};
    });
    const client = new Client(`tcp@${addr}`);
    try {
      const pushes = client.serverMessages();
      await client.call("Push", "Me", {});
      const { value } = await pushes.next();
      assert.equal(new TextDecoder().decode(value!.data), "hello");
      await waitFor("both push hooks reported", () => reported.length === 2);
      assert.deepEqual(reported.sort(), [
        "plugin bad postWriteRequest",
        "plugin bad preWriteRequest",
      ]);
    } finally {
      await client.close();
      await server.close();
    }
  });

  Deno.test(`an afterRegister or connClose hook that ${how} is reported and changes nothing`, async () => {
    const { server, addr, reported } = await setup({
      name: "bad",
      afterRegister: fail,
      connClose: fail,
    });
    const client = new Client(`tcp@${addr}`);
    try {
      assert.deepEqual(await client.call("Arith", "Mul", { A: 6, B: 7 }), { C: 42 });
      await client.close();
      await waitFor("connClose reported", () => reported.includes("plugin bad connClose"));
      assert.ok(reported.includes("plugin bad afterRegister"));
      assert.deepEqual(server.services, ["Arith"]);
    } finally {
      await client.close();
      await server.close();
    }
  });
}

Deno.test("preCall and postCall that throw fail the call with the error's text; the connection serves on", async () => {
  for (const hook of ["preCall", "postCall"] as const) {
    const { server, addr } = await setup({ name: "bad", [hook]: boom });
    const client = new Client(`tcp@${addr}`);
    try {
      await assert.rejects(client.call("Arith", "Mul", { A: 6, B: 7 }), (e) => {
        assert.ok(e instanceof ServiceError);
        assert.equal(e.message, "boom");
        return true;
      });
      assert.ok(client.isConnected, `${hook}: the connection stays open`);
    } finally {
      await client.close();
      await server.close();
    }
  }
});

Deno.test("beforeRegister that throws refuses the registration", async () => {
  const server = new Server({ plugins: [{ name: "bad", beforeRegister: boom }] });
  await assert.rejects(server.register(new Arith(), "Arith"), /boom/);
  assert.deepEqual(server.services, []);
  await server.close();
});

Deno.test("connAccept, preReadRequest and postReadRequest that throw close the connection; others are served", async () => {
  for (const hook of ["connAccept", "preReadRequest", "postReadRequest"] as const) {
    let fail = false;
    const { server, addr, reported } = await setup({
      name: "bad",
      [hook]: () => {
        if (fail) throw new Error("boom");
      },
    });
    const good = new Client(`tcp@${addr}`);
    const c = await RawConn.open(addr); // accepted while the hook still passes
    try {
      await good.connect();
      fail = true;
      if (hook === "connAccept") {
        const late = await RawConn.open(addr);
        assert.ok(await late.waitClosed(), "connAccept: refused connection closed");
        late.close();
      } else {
        await c.write(encodeMessage(mul(1n)));
        assert.ok(await c.waitClosed(), `${hook}: connection closed`);
        assert.equal(c.inbox.length, 0, `${hook}: the request is not answered`);
      }
      assert.ok(reported.includes(`plugin bad ${hook}`), `${hook} reported: ${reported}`);
      fail = false;
      assert.deepEqual(await good.call("Arith", "Mul", { A: 6, B: 7 }), { C: 42 });
    } finally {
      c.close();
      await good.close();
      await server.close();
    }
  }
});

Deno.test("preReadRequest runs when a connection is accepted and after each request it reads", async () => {
  const seen: number[] = [];
  const { server, addr } = await setup({
    name: "count",
    preReadRequest: (c) => void seen.push(c.id),
  });
  const client = new Client(`tcp@${addr}`);
  try {
    await client.connect();
    await waitFor("the accept", () => seen.length === 1);
    for (let i = 0; i < 3; i++) await client.call("Arith", "Mul", { A: i, B: 1 });
    assert.equal(seen.length, 4);
    assert.equal(new Set(seen).size, 1, "all on the same connection");
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("preHandleRequest sees the call context and the request before the method runs", async () => {
  const order: string[] = [];
  let seenCtx: CallContext | undefined;
  const server = new Server({
    plugins: [{
      name: "trace",
      preHandleRequest: async (ctx, req) => {
        seenCtx = ctx;
        await delay(1);
        ctx.replyMetadata["trace-id"] = req.metadata["trace-id"];
        order.push("preHandleRequest");
      },
      preCall: (_ctx, args) => (order.push("preCall"), args),
    }],
  });
  await server.register({
    Mul: (a: { A: number; B: number }) => (order.push("method"), { C: a.A * a.B }),
  }, "Arith");
  const addr = await server.serve("tcp", "127.0.0.1:0");
  const client = new Client(`tcp@${addr}`);
  try {
    const replyMetadata: Record<string, string> = {};
    await client.call("Arith", "Mul", { A: 2, B: 3 }, {
      metadata: { "trace-id": "t-9" },
      replyMetadata,
    });
    assert.deepEqual(order, ["preHandleRequest", "preCall", "method"]);
    assert.equal(seenCtx!.serviceMethod, "Mul");
    assert.equal(replyMetadata["trace-id"], "t-9");
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("handleMessage: dispatch without a socket (call, error, heartbeat, oneway, not a request)", async () => {
  const events: string[] = [];
  const server = new Server({
    plugins: [{
      name: "log",
      preWriteResponse: (_req, res) => void events.push(`pre:${res.seq}`),
    }],
  });
  await server.register(new Arith(), "Arith");
  const ok = (await server.handleMessage(mul(1n)))!;
  assert.equal(ok.messageType, MessageType.Response);
  assert.equal(ok.seq, 1n);
  assert.deepEqual(dec(ok.payload), { C: 42 });
  const err = (await server.handleMessage(mul(2n, { serviceMethod: "Div" })))!;
  assert.equal(err.status, MessageStatusType.Error);
  assert.equal(err.metadata.__rpcx_error__, "rpcx: can't find method Div");
  const hb =
    (await server.handleMessage(createMessage({ seq: 3n, heartbeat: true, payload: enc("p") })))!;
  assert.ok(hb.heartbeat);
  assert.deepEqual(dec(hb.payload), "p");
  assert.equal(await server.handleMessage(mul(4n, { oneway: true })), undefined);
  assert.equal(
    await server.handleMessage(mul(5n, { messageType: MessageType.Response })),
    undefined,
  );
  assert.deepEqual(events, ["pre:1", "pre:2"]);
  await server.close();
});

Deno.test("one request pipeline: on every path (tcp, in-process, HTTP invoke, JSON-RPC, handleMessage) hooks run in Go's order and postWriteResponse runs after the write, so what it changes never reaches the caller", async () => {
  const events: string[] = [];
  const server = new Server({
    plugins: [{
      name: "late",
      postReadRequest: () => void events.push("postReadRequest"),
      preCall: (_ctx, args) => {
        events.push("preCall");
        return args;
      },
      postCall: (_ctx, _args, reply) => {
        events.push("postCall");
        return reply;
      },
      preWriteResponse: (_req, res) => {
        events.push("preWriteResponse");
        res.metadata.early = "1";
      },
      postWriteResponse: (_req, res) => {
        events.push("postWriteResponse");
        // Go runs this after conn.Write / w.Write: too late to change the answer.
        res.metadata.late = "1";
        res.payload = enc({ C: -1 });
      },
    }],
  });
  await server.register(new Arith(), "Arith");
  const addr = await server.serve("tcp", "127.0.0.1:0");
  await server.serve("inprocess", "pipeline-test");
  const port = Number(addr.split(":").at(-1));
  const GO_ORDER = [
    "postReadRequest",
    "preCall",
    "postCall",
    "preWriteResponse",
    "postWriteResponse",
  ];
  const hooksRan = async (path: string) => {
    await waitFor(`${path}: postWriteResponse`, () => events.length >= GO_ORDER.length);
    assert.deepEqual(events.splice(0), GO_ORDER, path);
  };
  const http = (headers: Record<string, string>, body: string) =>
    rawExchange(port, httpRequest("POST", "/Arith", headers, body));
  try {
    for (const path of [`tcp@${addr}`, "inprocess@pipeline-test"]) {
      const client = new Client(path, { serializeType: SerializeType.JSON });
      try {
        const replyMetadata = {};
        assert.deepEqual(
          await client.call("Arith", "Mul", { A: 6, B: 7 }, { replyMetadata }),
          { C: 42 },
          path,
        );
        assert.equal((replyMetadata as Record<string, string>).early, "1", path);
        assert.equal((replyMetadata as Record<string, string>).late, undefined, path);
        await hooksRan(path);
      } finally {
        await client.close();
      }
    }

    const invoke = await http({
      "X-RPCX-ServiceMethod": "Mul",
      "X-RPCX-SerializeType": "1",
    }, '{"A":6,"B":7}');
    assert.equal(invoke.status, 200);
    assert.equal(new TextDecoder().decode(invoke.body), '{"C":42}');
    assert.equal(invoke.headers.get("x-rpcx-meta"), "early=1", "X-RPCX-Meta is written before");
    await hooksRan("HTTP invoke");

    const rpc = await http(
      { "X-JSONRPC-2.0": "true" },
      '{"jsonrpc":"2.0","method":"Arith.Mul","params":{"A":6,"B":7},"id":1}',
    );
    assert.equal(new TextDecoder().decode(rpc.body), '{"jsonrpc":"2.0","result":{"C":42},"id":1}');
    await hooksRan("JSON-RPC");

    const res = (await server.handleMessage(mul(1n)))!;
    assert.deepEqual(dec(res.payload), { C: 42 });
    assert.deepEqual(res.metadata, { early: "1" });
    await hooksRan("handleMessage");
  } finally {
    await server.close();
  }
});

Deno.test("preReadRequest on HTTP: a throw answers HTTP invoke with 500 and its text (Go's gateway); a JSON-RPC call goes on (Go ignores it)", async () => {
  let n = 0;
  const server = new Server({
    plugins: [{
      name: "bad",
      preReadRequest(conn) {
        if (conn.network === "http") throw new Error(`no ${++n}`);
      },
    }],
    onError: () => {},
  });
  await server.register(new Arith(), "Arith");
  const addr = await server.serve("tcp", "127.0.0.1:0");
  const port = Number(addr.split(":").at(-1));
  try {
    const invoke = await rawExchange(
      port,
      httpRequest("POST", "/Arith", {
        "X-RPCX-ServiceMethod": "Mul",
        "X-RPCX-SerializeType": "1",
      }, '{"A":6,"B":7}'),
    );
    assert.equal(invoke.status, 500);
    assert.equal(new TextDecoder().decode(invoke.body), "no 1\n");
    const rpc = await rawExchange(
      port,
      httpRequest(
        "POST",
        "/",
        { "X-JSONRPC-2.0": "true" },
        '{"jsonrpc":"2.0","method":"Arith.Mul","params":{"A":6,"B":7},"id":1}',
      ),
    );
    assert.equal(
      new TextDecoder().decode(rpc.body),
      '{"jsonrpc":"2.0","result":{"C":42},"id":1}',
    );
    assert.equal(n, 2, "the hook ran for both");
  } finally {
    await server.close();
  }
});
