// Go parity, issue 29 (server): the service-error hook (Go's Server.HandleServiceError) gets
// every error a call ends with, on every protocol: rpcx (ours and Go's client), HTTP invoke,
// JSON-RPC and handleMessage, oneway calls included.
import assert from "node:assert/strict";
import { Client, SerializeType, Server } from "@rpcx/core";
import { jsonCodec, type ServerPlugin } from "@rpcx/core/extend";
import { createMessage, type Message } from "@rpcx/core/protocol";
import { GO_PEER, needGoPeer } from "./support/go_peer.ts";
import { runBounded } from "./support/child.ts";
import { waitFor } from "./support/env.ts";

/** What the hook saw: `service.method: message` per error. */
function recorder(): { seen: string[]; hook: (e: unknown, req: Message) => void } {
  const seen: string[] = [];
  return {
    seen,
    hook: (e, req) =>
      void seen.push(
        `${req.servicePath}.${req.serviceMethod}: ${e instanceof Error ? e.message : String(e)}`,
      ),
  };
}

async function arithServer(options: ConstructorParameters<typeof Server>[0] = {}) {
  const server = new Server(options);
  await server.register({
    Mul: (a: { A: number; B: number }) => ({ C: a.A * a.B }),
    Fail: () => {
      throw new Error("thrown");
    },
    Reject: () => Promise.reject(new Error("rejected")),
  }, "Arith");
  server.addHandler("Raw", "Fail", () => {
    throw new Error("handler threw");
  });
  server.addHandler("Raw", "Late", (ctx) => {
    ctx.write("answered");
    throw new Error("threw after answering");
  });
  return server;
}

Deno.test("handleServiceError (Go's HandleServiceError): every error a call ends with over rpcx, from our client and Go's; oneway too; the answers are unchanged", async () => {
  if (!needGoPeer()) return;
  const r = recorder();
  const plugin: ServerPlugin = {
    preCall: (ctx, args) => {
      if (ctx.serviceMethod === "Mul" && (args as { A: number }).A === 13) {
        throw new Error("preCall refused");
      }
      return args;
    },
    postCall: (_ctx, _args, reply) => {
      if ((reply as { C?: number })?.C === 99) throw new Error("postCall refused");
      return reply;
    },
  };
  const server = await arithServer({ handleServiceError: r.hook, plugins: [plugin] });
  const addr = await server.serve("tcp", "127.0.0.1:0");
  const client = new Client(`tcp@${addr}`, { serializeType: SerializeType.JSON });
  const fails = (p: Promise<unknown>, message: string) =>
    assert.rejects(p, (e: unknown) => (e as Error).message === message);
  try {
    await fails(client.call("Arith", "Fail", {}), "thrown");
    await fails(client.call("Arith", "Reject", {}), "rejected");
    await fails(client.call("Nope", "Mul", {}), "rpcx: can't find service Nope");
    await fails(client.call("Arith", "Div", {}), "rpcx: can't find method Div");
    await fails(client.call("Arith", "Mul", { A: 13, B: 1 }), "preCall refused");
    await fails(client.call("Arith", "Mul", { A: 9, B: 11 }), "postCall refused");
    await fails(client.call("Raw", "Fail", {}), "handler threw");
    assert.equal(await client.call("Raw", "Late", {}), "answered");
    // Args that do not decode (not JSON).
    await assert.rejects(
      client.sendRaw(createMessage({
        seq: 1n,
        servicePath: "Arith",
        serviceMethod: "Mul",
        serializeType: SerializeType.JSON,
        payload: new TextEncoder().encode("{nope"),
      })),
      /invalid character/,
    );
    await client.send("Arith", "Fail", {}); // oneway: nobody gets the error but the hook
    // Go's client (rpcx-examples call Arith; --method is sent as is).
    const go = await runBounded(GO_PEER!, {
      args: ["client", "--addr", addr, "--method", "Fail", "--tolerate-errors"],
      timeoutMs: 30_000,
    });
    assert.equal(new TextDecoder().decode(go.stdout).trim(), "ERROR: thrown");
    await waitFor("the oneway's and Go's errors", () => r.seen.length >= 11, 3000, 10);
    const expected = [
      "Arith.Fail: thrown",
      "Arith.Reject: rejected",
      "Nope.Mul: rpcx: can't find service Nope",
      "Arith.Div: rpcx: can't find method Div",
      "Arith.Mul: preCall refused",
      "Arith.Mul: postCall refused",
      "Raw.Fail: handler threw",
      "Raw.Late: threw after answering",
      "Arith.Fail: thrown", // oneway
      "Arith.Fail: thrown", // Go's client
    ];
    const decode = r.seen.filter((s) => s.startsWith("Arith.Mul: ") && !/refused/.test(s));
    assert.equal(decode.length, 1, `the decode error: ${decode}`);
    assert.match(decode[0], /invalid character/);
    assert.deepEqual(r.seen.filter((s) => !decode.includes(s)), expected);
    // A call that succeeds adds nothing.
    assert.deepEqual(await client.call("Arith", "Mul", { A: 2, B: 3 }), { C: 6 });
    assert.equal(r.seen.length, 11);
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("handleServiceError: HTTP invoke, JSON-RPC (single and batch) and handleMessage go through it too; auth refusals as in Go", async () => {
  const r = recorder();
  const server = await arithServer({
    auth: (token) => token !== "wrong",
  });
  server.handleServiceError = r.hook; // Go: a field set after NewServer
  const addr = await server.serve("tcp", "127.0.0.1:0");
  try {
    const invoke = await fetch(`http://${addr}/`, {
      method: "POST",
      headers: {
        "X-RPCX-ServicePath": "Arith",
        "X-RPCX-ServiceMethod": "Fail",
        "X-RPCX-SerializeType": "1",
        "X-RPCX-MessageID": "1",
      },
      body: "{}",
    });
    await invoke.body?.cancel();
    assert.equal(invoke.headers.get("X-RPCX-ErrorMessage"), "thrown");
    const rpc = await fetch(`http://${addr}/`, {
      method: "POST",
      headers: { "X-JSONRPC-2.0": "true", "Content-Type": "application/json" },
      body: JSON.stringify([
        { jsonrpc: "2.0", id: 1, method: "Arith.Reject", params: {} },
        { jsonrpc: "2.0", id: 2, method: "Raw.Fail", params: {} },
        { jsonrpc: "2.0", id: 3, method: "Arith.Mul", params: { A: 1, B: 2 } },
      ]),
    });
    assert.equal((await rpc.json()).length, 3);
    const res = await server.handleMessage(createMessage({
      seq: 9n,
      servicePath: "Arith",
      serviceMethod: "Nope",
      serializeType: SerializeType.JSON,
      payload: jsonCodec.encode({}),
    }));
    assert.equal(res?.metadata.__rpcx_error__, "rpcx: can't find method Nope");
    await server.handleMessage(createMessage({
      seq: 10n,
      servicePath: "Arith",
      serviceMethod: "Mul",
      serializeType: SerializeType.JSON,
      metadata: { __AUTH: "wrong" },
      payload: jsonCodec.encode({ A: 1, B: 1 }),
    }));
    assert.deepEqual(r.seen.sort(), [
      "Arith.Fail: thrown",
      "Arith.Mul: rpcx: auth failed",
      "Arith.Nope: rpcx: can't find method Nope",
      "Arith.Reject: rejected",
      "Raw.Fail: handler threw",
    ]);
  } finally {
    await server.close();
  }
});

Deno.test("handleServiceError that throws or rejects: reported through onError, the caller still gets the service's error", async () => {
  const reported: string[] = [];
  const server = await arithServer({
    onError: (where, e) => void reported.push(`${where}: ${(e as Error).message}`),
    handleServiceError: (e) => {
      if ((e as Error).message === "thrown") throw new Error("hook broke");
      return Promise.reject(new Error("hook rejected"));
    },
  });
  const addr = await server.serve("tcp", "127.0.0.1:0");
  const client = new Client(`tcp@${addr}`, { serializeType: SerializeType.JSON });
  try {
    await assert.rejects(client.call("Arith", "Fail", {}), { message: "thrown" });
    await assert.rejects(client.call("Arith", "Reject", {}), { message: "rejected" });
    await waitFor("both reported", () => reported.length === 2, 2000, 10);
    assert.deepEqual(reported, [
      "handleServiceError: hook broke",
      "handleServiceError: hook rejected",
    ]);
    assert.deepEqual(await client.call("Arith", "Mul", { A: 2, B: 2 }), { C: 4 });
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("a method that throws a non-Error: its text on the wire is useful (a string itself, an object's message or JSON, bounded), to our client and Go's", async () => {
  const cyclic: Record<string, unknown> = { code: 7 };
  cyclic.self = cyclic;
  const server = new Server();
  await server.register({
    Obj: () => {
      throw { code: 42 };
    },
    Str: () => {
      throw "plain text";
    },
    Msg: () => Promise.reject({ message: "has a message", code: 1 }),
    Big: () => {
      throw { blob: "x".repeat(5000) };
    },
    Cycle: () => {
      throw cyclic;
    },
    Num: () => {
      throw 42;
    },
    // String() of these throws: the server must answer, not die of an unhandled rejection.
    NoProto: () => {
      const o = Object.create(null);
      o.self = o;
      throw o;
    },
    BadGetter: () => {
      throw Object.defineProperty({}, "message", {
        get() {
          throw new Error("getter");
        },
      });
    },
    Err: () => {
      throw new Error("an Error");
    },
  }, "Arith");
  const addr = await server.serve("tcp", "127.0.0.1:0");
  const client = new Client(`tcp@${addr}`, { serializeType: SerializeType.JSON });
  const text = (method: string) =>
    client.call("Arith", method, {}).then(
      () => assert.fail(`${method} succeeded`),
      (e) => (e as Error).message,
    );
  try {
    assert.equal(await text("Obj"), '{"code":42}');
    assert.equal(await text("Str"), "plain text");
    assert.equal(await text("Msg"), "has a message");
    const big = await text("Big");
    assert.ok(big.startsWith('{"blob":"xxx') && big.length <= 1025, `${big.length} chars`);
    assert.equal(await text("Cycle"), "[object Object]"); // no JSON text: String() as before
    assert.equal(await text("Num"), "42");
    assert.equal(await text("NoProto"), "[object Object]");
    assert.equal(await text("BadGetter"), "[object Object]");
    assert.equal(await text("Err"), "an Error", "the server serves on");
    if (!needGoPeer()) return;
    const go = await runBounded(GO_PEER!, {
      args: ["client", "--addr", addr, "--method", "Obj", "--tolerate-errors"],
      timeoutMs: 30_000,
    });
    assert.equal(new TextDecoder().decode(go.stdout).trim(), 'ERROR: {"code":42}');
  } finally {
    await client.close();
    await server.close();
  }
});
