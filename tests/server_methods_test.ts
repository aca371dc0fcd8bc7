// Go parity, issue 29 (server): method whitelists (Go's RegisterWithMethods,
// RegisterNameWithMethods) and raw handlers (Go's AddHandler; rpcx-examples `handler`), called by
// the Go peer's client and ours.
import assert from "node:assert/strict";
import {
  Client,
  type HandlerContext,
  InprocessRegisterPlugin,
  InprocessRegistry,
  SerializeType,
  Server,
  ServiceError,
} from "@rpcx/core";
import { jsonCodec } from "@rpcx/core/extend";
import { GO_PEER, needGoPeer } from "./support/go_peer.ts";
import { runBounded } from "./support/child.ts";
import { waitFor } from "./support/env.ts";

class Arith {
  Mul(a: { A: number; B: number }) {
    return { C: a.A * a.B };
  }
  Add(a: { A: number; B: number }) {
    return { C: a.A + a.B };
  }
  _hidden() {
    return 0;
  }
}

/** `rpcxpeer client` against `addr` with `extra` flags: its exit code and stdout lines. */
async function goClient(addr: string, extra: string[]): Promise<{ code: number; lines: string[] }> {
  const r = await runBounded(GO_PEER!, {
    args: ["client", "--addr", addr, "--tolerate-errors", ...extra],
    timeoutMs: 30_000,
  });
  const out = new TextDecoder().decode(r.stdout).trim();
  return { code: r.code, lines: out === "" ? [] : out.split("\n") };
}

Deno.test("registerWithMethods / registerNameWithMethods (Go's RegisterWithMethods): only the listed methods answer; Go's client gets Go's 'can't find method' for the others", async () => {
  if (!needGoPeer()) return;
  const server = new Server();
  await server.registerWithMethods(new Arith(), ["Mul"]);
  await server.registerNameWithMethods("Calc", new Arith(), ["Add"], "group=a");
  const addr = await server.serve("tcp", "127.0.0.1:0");
  const client = new Client(`tcp@${addr}`);
  try {
    assert.deepEqual(server.services.sort(), ["Arith", "Calc"]);
    // Go's client, as rpcx-examples call Arith.
    assert.deepEqual((await goClient(addr, ["--method", "Mul"])).lines, ["10 * 20 = 200"]);
    assert.deepEqual((await goClient(addr, ["--method", "Add"])).lines, [
      "ERROR: rpcx: can't find method Add",
    ]);
    // Ours, both names.
    assert.deepEqual(await client.call("Calc", "Add", { A: 2, B: 3 }), { C: 5 });
    await assert.rejects(
      client.call("Calc", "Mul", { A: 2, B: 3 }),
      (e: unknown) => e instanceof ServiceError && e.message === "rpcx: can't find method Mul",
    );
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("registerWithMethods: Go's errors for an empty list, a missing method, one that is not an RPC method; nothing registered then", () => {
  const server = new Server();
  assert.throws(
    () => server.registerWithMethods(new Arith(), []),
    new TypeError("rpcx.Register: empty methods whitelist; use register to register all methods"),
  );
  assert.throws(
    () => server.registerWithMethods(new Arith(), ["Mul", "Div"]),
    new TypeError('rpcx.Register: method "Div" not found on Arith'),
  );
  assert.throws(
    () => server.registerNameWithMethods("Calc", new Arith(), ["_hidden"]),
    new TypeError('rpcx.Register: method "_hidden" of Calc is not a suitable RPC method'),
  );
  assert.throws(
    () => server.registerNameWithMethods("Calc", { Mul: () => 1, size: 3 }, ["size"]),
    new TypeError('rpcx.Register: method "size" of Calc is not a suitable RPC method'),
  );
  assert.deepEqual(server.services, []);
});

Deno.test("addHandler (Go's AddHandler, rpcx-examples handler): Go's client gets what the raw handler writes; it binds, writes later, writes metadata, answers with an error", async () => {
  if (!needGoPeer()) return;
  const server = new Server();
  // Registered too: the handler comes first, as in Go.
  await server.register({ Mul: () => ({ C: -1 }) }, "Arith");
  const seen: string[] = [];
  server.addHandler("Arith", "Mul", (ctx: HandlerContext) => {
    const args = ctx.bind<{ A: number; B: number }>();
    seen.push(`${ctx.servicePath}.${ctx.serviceMethod} ${ctx.serializeType}`);
    ctx.replyMetadata["x-handler"] = "raw";
    // Answered after the handler returned.
    setTimeout(() => ctx.write({ C: args.A * args.B }), 20);
  });
  server.addHandler("Arith", "Add", () => {
    throw new Error("no adding here");
  });
  server.addHandler("Arith", "Sub", (ctx) => {
    ctx.writeError(new Error("told, not thrown"));
  });
  server.addHandler("Raw", "Echo", (ctx) => {
    ctx.write(ctx.payload); // the bytes as they came (SerializeNone)
  });
  const addr = await server.serve("tcp", "127.0.0.1:0");
  const client = new Client(`tcp@${addr}`, { serializeType: SerializeType.JSON });
  try {
    // Go's client, MsgPack and JSON (the example's serializer).
    assert.deepEqual((await goClient(addr, ["--method", "Mul"])).lines, ["10 * 20 = 200"]);
    assert.deepEqual(
      (await goClient(addr, ["--method", "Mul", "--serializer", "json", "--a", "7"])).lines,
      ["7 * 20 = 140"],
    );
    assert.deepEqual((await goClient(addr, ["--method", "Add"])).lines, [
      "ERROR: no adding here",
    ]);
    assert.deepEqual((await goClient(addr, ["--method", "Sub"])).lines, [
      "ERROR: told, not thrown",
    ]);
    assert.deepEqual(seen, [
      `Arith.Mul ${SerializeType.MsgPack}`,
      `Arith.Mul ${SerializeType.JSON}`,
    ]);
    // Ours: the reply metadata the handler wrote.
    const replyMetadata: Record<string, string> = {};
    assert.deepEqual(await client.call("Arith", "Mul", { A: 3, B: 4 }, { replyMetadata }), {
      C: 12,
    });
    assert.equal(replyMetadata["x-handler"], "raw");
    const bytes = new TextEncoder().encode("as it came");
    assert.deepEqual(
      await client.call("Raw", "Echo", bytes, { serializeType: SerializeType.SerializeNone }),
      bytes,
    );
    // A handler is not advertised as a service (as Go's router).
    assert.deepEqual(server.services, ["Arith"]);
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("addHandler: a write after the answer, for a oneway request, or after the deadline sends nothing; a handler that answers nothing ends with the caller's deadline and the server's close", async () => {
  const server = new Server();
  const writes: boolean[] = [];
  let onewayDone: () => void = () => {};
  const onewayRan = new Promise<void>((r) => (onewayDone = r));
  server.addHandler("H", "Twice", (ctx) => {
    writes.push(ctx.write("first"), ctx.write("second"), ctx.writeError(new Error("third")));
  });
  server.addHandler("H", "Note", (ctx) => {
    writes.push(ctx.write("nobody waits"));
    onewayDone();
  });
  let late: HandlerContext | undefined;
  server.addHandler("H", "Never", (ctx) => void (late = ctx));
  const addr = await server.serve("tcp", "127.0.0.1:0");
  const client = new Client(`tcp@${addr}`, { serializeType: SerializeType.JSON });
  try {
    assert.equal(await client.call("H", "Twice", null), "first");
    await client.send("H", "Note", null);
    await onewayRan;
    assert.deepEqual(writes, [true, false, false, false]);
    // No answer: the caller's timeout ends it, and the server's side of it too (its deadline
    // came with the request), so a later write sends nothing.
    await assert.rejects(client.call("H", "Never", null, { timeout: 200 }));
    assert.ok(late);
    const ended = late!;
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(ended.write("too late"), false);
    assert.equal(server.metrics().inFlight, 0, "the unanswered call is no longer in flight");
    // Without a deadline: in flight until the server closes.
    const pending = client.call("H", "Never", null).catch((e) => e);
    await waitFor("the call in flight", () => server.metrics().inFlight === 1, 3000, 10);
    await server.close();
    assert.equal(server.metrics().inFlight, 0, "ended by the server's close");
    assert.ok((await pending) instanceof Error);
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("addHandler answers HTTP invoke and JSON-RPC too (one dispatcher)", async () => {
  const server = new Server();
  server.addHandler("Arith", "Mul", (ctx) => {
    const { A, B } = ctx.bind<{ A: number; B: number }>();
    ctx.write({ C: A * B });
  });
  const addr = await server.serve("tcp", "127.0.0.1:0");
  try {
    const invoke = await fetch(`http://${addr}/`, {
      method: "POST",
      headers: {
        "X-RPCX-ServicePath": "Arith",
        "X-RPCX-ServiceMethod": "Mul",
        "X-RPCX-SerializeType": "1",
        "X-RPCX-MessageID": "1",
      },
      body: JSON.stringify({ A: 6, B: 7 }),
    });
    assert.deepEqual(jsonCodec.decode(new Uint8Array(await invoke.arrayBuffer())), { C: 42 });
    const rpc = await fetch(`http://${addr}/`, {
      method: "POST",
      headers: { "X-JSONRPC-2.0": "true", "Content-Type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "Arith.Mul", params: { A: 5, B: 5 } }),
    });
    assert.deepEqual((await rpc.json()).result, { C: 25 });
  } finally {
    await server.close();
  }
});

Deno.test("register twice under one name (Go's Register): no error, the second service replaces the first whole, as Go's serviceMap[name] = service", async () => {
  class OnlyAdd {
    Add(a: { A: number; B: number }) {
      return { C: a.A + a.B + 1000 };
    }
  }
  const server = new Server();
  await server.register(new Arith(), "Arith", "v=1");
  await server.register(new OnlyAdd(), "Arith", "v=2");
  const addr = await server.serve("tcp", "127.0.0.1:0");
  const client = new Client(`tcp@${addr}`);
  try {
    assert.deepEqual(server.services, ["Arith"]);
    assert.deepEqual(await client.call("Arith", "Add", { A: 2, B: 3 }), { C: 1005 });
    await assert.rejects(
      client.call("Arith", "Mul", { A: 2, B: 3 }),
      (e: unknown) => e instanceof ServiceError && e.message === "rpcx: can't find method Mul",
    );
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("register twice under one name: the registry plugins are told again, with the new metadata (Go's Register calls DoRegister every time)", async () => {
  const registry = new InprocessRegistry();
  const server = new Server();
  server.use(new InprocessRegisterPlugin({ registry }));
  const addr = await server.serve("tcp", "127.0.0.1:0");
  try {
    await server.register(new Arith(), "Arith", "v=1");
    assert.deepEqual(registry.list("Arith"), [{ key: `tcp@${addr}`, value: "v=1" }]);
    await server.register(new Arith(), "Arith", "v=2");
    assert.deepEqual(registry.list("Arith"), [{ key: `tcp@${addr}`, value: "v=2" }]);
  } finally {
    await server.close();
  }
});
