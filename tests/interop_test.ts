// Interop with the real Go rpcx (tests/interop/go, built by .ci/install/50-gopeer.sh):
// a Deno client calls the Go server, and the Go client's checklist runs against our server.
import assert from "node:assert/strict";
import { Client, CompressType, SerializeType, Server, ServiceError } from "@rpcx/core";
import { decompressPayload } from "@rpcx/core/protocol";
import { waitFor } from "./support/env.ts";
import { interopServer, REQ_COMPRESSED } from "./support/echo_service.ts";
import { runBounded, startReady } from "./support/child.ts";
import { GO_PEER, needGoPeer } from "./support/go_peer.ts";

const PEER = GO_PEER;

/** Starts `rpcxpeer server` on a free port; resolves with its address and a stop function. */
export async function startGoServer(
  extra: string[] = [],
): Promise<{ addr: string; child: Deno.ChildProcess; stop(): Promise<void> }> {
  const go = await startReady(PEER!, ["server", "--addr", "127.0.0.1:0", ...extra], {
    ready: /LISTENING (\S+)\n/,
    what: "the Go server's LISTENING line",
    stopSignal: "SIGTERM",
  });
  return { addr: go.match[1], child: go.child, stop: () => go.stop() };
}

async function goClient(args: string[]): Promise<{ code: number; out: string }> {
  const out = await runBounded(PEER!, { args: ["client", ...args] });
  return {
    code: out.code,
    out: new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr),
  };
}

async function withDenoServer(
  fn: (addr: string, server: Server) => Promise<void>,
  options = {},
): Promise<void> {
  const server = await interopServer(options);
  const addr = await server.serve("tcp", "127.0.0.1:0");
  try {
    await fn(addr, server);
  } finally {
    await server.close();
  }
}

Deno.test({
  name: "Go client → Deno server: the whole interop checklist (JSON, MsgPack, gzip, ...)",
  async fn() {
    if (!needGoPeer()) return;
    await withDenoServer(async (addr) => {
      for (const ser of ["msgpack", "json"]) {
        const r = await goClient(["--addr", addr, "--serializer", ser, "--gzip", "--check", "all"]);
        assert.equal(r.code, 0, r.out);
        for (
          const name of [
            "json-mul",
            "msgpack-mul",
            "gzip-big",
            "heartbeat",
            "oneway",
            "metadata",
            "error-fail",
            "error-unknown-method",
            "error-unknown-service",
            "bytes-1mib",
            "concurrent-1000",
          ]
        ) assert.match(r.out, new RegExp(`^OK ${name}$`, "m"), `${ser}: ${r.out}`);
      }
    });
  },
});

Deno.test({
  name: "Go client → Deno server: __AUTH token accepted and refused",
  async fn() {
    if (!needGoPeer()) return;
    await withDenoServer(async (addr) => {
      const r = await goClient([
        "--addr",
        addr,
        "--auth",
        "s3cret",
        "--check",
        "auth-accepted,auth-rejected",
      ]);
      assert.equal(r.code, 0, r.out);
      assert.match(r.out, /^OK auth-accepted$/m);
      assert.match(r.out, /^OK auth-rejected$/m);
    }, { auth: (token: string | undefined) => token === "s3cret" });
  },
});

Deno.test({
  name: "Go client → Deno server: plain calls print like the Go example",
  async fn() {
    if (!needGoPeer()) return;
    await withDenoServer(async (addr) => {
      const r = await goClient(["--addr", addr, "--count", "3"]);
      assert.equal(r.code, 0, r.out);
      assert.equal(r.out.match(/^10 \* 20 = 200$/gm)?.length, 3, r.out);
    });
  },
});

Deno.test({
  name: "Go client → Deno server: a method registered with registerFunction",
  async fn() {
    if (!needGoPeer()) return;
    const server = new Server();
    await server.registerFunction("Arith", function Mul(args: { A: number; B: number }) {
      return { C: args.A * args.B };
    });
    const addr = await server.serve("tcp", "127.0.0.1:0");
    try {
      const r = await goClient(["--addr", addr, "--count", "2"]);
      assert.equal(r.code, 0, r.out);
      assert.equal(r.out.match(/^10 \* 20 = 200$/gm)?.length, 2, r.out);
    } finally {
      await server.close();
    }
  },
});

Deno.test({
  name: "Deno client → Go server: JSON, MsgPack, gzip both ways, metadata, errors, raw 1 MiB",
  async fn() {
    if (!needGoPeer()) return;
    const go = await startGoServer();
    const json = new Client(go.addr, { serializeType: SerializeType.JSON });
    // MsgPack, Go's default; counts the gzip payloads the Go server sends back.
    const gunzipped: number[] = [];
    const mp = new Client(go.addr, {
      gunzip: (data, max) => {
        const out = decompressPayload(data, CompressType.Gzip, max);
        gunzipped.push(out.byteLength);
        return out;
      },
    });
    const raw = new Client(go.addr, { serializeType: SerializeType.SerializeNone });
    try {
      assert.deepEqual(await json.call("Arith", "Mul", { A: 10, B: 20 }), { C: 200 });
      assert.deepEqual(await mp.call("Arith", "Mul", { A: 10, B: 20 }), { C: 200 });
      assert.deepEqual(await mp.call("Arith", "Add", { A: -5, B: 2 ** 40 }), { C: 2 ** 40 - 5 });
      // gzip both ways: a >1024-byte payload, the Go server sees a compressed request and
      // compresses its reply (the reply frame is gzip: our gunzip ran on it).
      const data = "abcdefgh".repeat(1000);
      const replyMetadata: Record<string, string> = {};
      const big = await mp.call<{ Data: string }>("Echo", "Big", { Data: data }, {
        compressType: CompressType.Gzip,
        replyMetadata,
      });
      assert.equal(big.Data, data);
      assert.equal(replyMetadata[REQ_COMPRESSED], "gzip");
      assert.equal(gunzipped.length, 1, "the Go server's reply was gzip");
      assert.ok(gunzipped[0] > data.length, `gunzipped ${gunzipped[0]} bytes`);
      // metadata round trip
      const meta: Record<string, string> = {};
      await mp.call("Echo", "Meta", { Data: "m" }, {
        metadata: { k1: "v1", hello: "wörld", empty: "" },
        replyMetadata: meta,
      });
      assert.equal(meta.k1, "v1");
      assert.equal(meta.hello, "wörld");
      assert.equal(meta.empty, "");
      // error replies carry Go's text
      await assert.rejects(mp.call("Echo", "Fail", {}), (e) => {
        assert.ok(e instanceof ServiceError);
        assert.equal(e.message, "deliberate failure");
        return true;
      });
      await assert.rejects(mp.call("Arith", "Div", { A: 1, B: 2 }), {
        name: "ServiceError",
        message: "rpcx: can't find method Div",
      });
      await assert.rejects(mp.call("Nope", "Mul", {}), {
        message: "rpcx: can't find service Nope",
      });
      // raw bytes, 1 MiB
      const bytes = crypto.getRandomValues(new Uint8Array(65536));
      const mib = new Uint8Array(1 << 20);
      for (let i = 0; i < 16; i++) mib.set(bytes, i * 65536);
      const echoed = await raw.call<Uint8Array>("Echo", "Bytes", mib);
      assert.equal(echoed.byteLength, mib.byteLength);
      assert.deepEqual(echoed, mib);
    } finally {
      await Promise.all([json.close(), mp.close(), raw.close()]);
      await go.stop();
    }
  },
});

Deno.test({
  name: "Deno client → Go server: int64/uint64 past 2^53 arrive exact both ways (MsgPack, JSON)",
  async fn() {
    if (!needGoPeer()) return;
    const go = await startGoServer();
    const clients = [SerializeType.MsgPack, SerializeType.JSON].map((serializeType) =>
      new Client(go.addr, { serializeType })
    );
    try {
      for (const c of clients) {
        // Go adds 1 to N itself: a rounded argument (…992) would come back as …993, not …994.
        assert.deepEqual(
          await c.call("Echo", "Wide", { N: 9007199254740993n, U: 18446744073709551615n }),
          {
            N: 9007199254740993n,
            U: 18446744073709551615n,
            NInc: 9007199254740994n,
            Big: 4611686018427387905n, // int64(1<<62 + 1)
            UMax: 18446744073709551615n,
            Min: -9223372036854775808n,
          },
          `serializer ${c === clients[0] ? "msgpack" : "json"}`,
        );
        // Small values stay numbers.
        const small = await c.call<{ N: unknown; NInc: unknown }>("Echo", "Wide", { N: 5, U: 0 });
        assert.equal(small.N, 5);
        assert.equal(small.NInc, 6);
      }
    } finally {
      for (const c of clients) await c.close();
      await go.stop();
    }
  },
});

Deno.test({
  name: "Deno client → Go server: heartbeat, oneway, 1000 calls in flight",
  async fn() {
    if (!needGoPeer()) return;
    const go = await startGoServer();
    const c = new Client(go.addr, { heartbeat: true, heartbeatInterval: 100 });
    try {
      const h0 = (await c.call<{ Count: number }>("Echo", "Heartbeats", {})).Count;
      const rtt = await c.heartbeat();
      assert.ok(rtt < 1000, `heartbeat round trip ${rtt} ms`);
      let h1 = h0;
      await waitFor("the Go server to answer 3 more heartbeats", async () => {
        h1 = (await c.call<{ Count: number }>("Echo", "Heartbeats", {})).Count;
        return h1 - h0 >= 3;
      }, 5000);
      const text = `note-${Date.now()}`;
      await c.send("Echo", "Note", { Text: text });
      let notes = { Count: 0, Last: "" };
      for (let i = 0; i < 100 && notes.Last !== text; i++) {
        notes = await c.call("Echo", "Notes", {});
        if (notes.Last !== text) await new Promise((r) => setTimeout(r, 20));
      }
      assert.equal(notes.Last, text, "the oneway note reached the Go server");
      const t0 = Date.now();
      const replies = await Promise.all(
        Array.from(
          { length: 1000 },
          (_, i) => c.call<{ Tag: number }>("Echo", "Delay", { Ms: 300, Tag: i }),
        ),
      );
      assert.ok(Date.now() - t0 < 5000, "1000 calls ran concurrently");
      replies.forEach((r, i) => assert.equal(r.Tag, i));
    } finally {
      await c.close();
      await go.stop();
    }
  },
});

Deno.test({
  name: "Deno client → Go server with auth: accepted, refused, and the Go server drops us",
  async fn() {
    if (!needGoPeer()) return;
    const go = await startGoServer(["--auth", "tok"]);
    const ok = new Client(go.addr, { auth: "tok" });
    const bad = new Client(go.addr, { auth: "nope" });
    try {
      assert.deepEqual(await ok.call("Arith", "Mul", { A: 6, B: 7 }), { C: 42 });
      await assert.rejects(bad.call("Arith", "Mul", { A: 6, B: 7 }), (e) => {
        assert.ok(e instanceof ServiceError, String(e));
        assert.equal(e.message, "invalid token", "Go's AuthFunc error text");
        return true;
      });
      await waitFor("the Go server to drop the refused connection", () => !bad.isConnected, 3000);
      assert.ok(ok.isConnected, "the accepted client stays connected");
      assert.deepEqual(await ok.call("Arith", "Mul", { A: 2, B: 3 }), { C: 6 });
    } finally {
      await ok.close();
      await bad.close();
      await go.stop();
    }
  },
});
