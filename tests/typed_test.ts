// Typed clients: the proxies call real Deno and Go servers with the options honoured, and the
// type tests in tests/types/ fail to compile exactly where they say they do.
import assert from "node:assert/strict";
import {
  CallTimeoutError,
  Client,
  FailMode,
  type Metadata,
  MultipleServersDiscovery,
  Peer2PeerDiscovery,
  SelectMode,
  Server,
  ServiceError,
  XClient,
} from "@rpcx/core";
import type { Arith } from "../examples/arith.ts";
import { type Echo, interopServer } from "./support/echo_service.ts";
import { GO_PEER, startGoServer } from "./support/go_peer.ts";
import { runBounded } from "./support/child.ts";
import { needs, REPO_ROOT } from "./support/env.ts";

const TYPES_FILE = `${REPO_ROOT}/tests/types/typed_client.ts`;

async function denoCheck(file: string): Promise<{ code: number; out: string }> {
  const r = await runBounded(Deno.execPath(), {
    args: ["check", "--quiet", "--config", `${REPO_ROOT}/deno.json`, file],
    cwd: REPO_ROOT,
    env: { NO_COLOR: "1" },
    timeoutMs: 120_000,
  });
  const dec = new TextDecoder();
  return { code: r.code, out: dec.decode(r.stdout) + dec.decode(r.stderr) };
}

Deno.test("typed client type tests: deno check passes with every @ts-expect-error used", async () => {
  const r = await denoCheck(TYPES_FILE);
  assert.equal(r.code, 0, r.out);
});

Deno.test("typed client type tests: each @ts-expect-error line is a compile error", async () => {
  const text = await Deno.readTextFile(TYPES_FILE);
  const expected = text.split("\n").filter((l) => l.trim().startsWith("// @ts-expect-error"));
  assert.ok(expected.length >= 10, `only ${expected.length} expectations`);
  // Without the directives, deno check must report one error per directive, on the lines below.
  const stripped = text.replace(/^[ \t]*\/\/ @ts-expect-error.*$/gm, "//");
  // Outside the repository, so a run killed midway leaves nothing for `deno task check`.
  const dir = await Deno.makeTempDir({ prefix: "rpcx-types-" });
  const tmp = `${dir}/.stripped_${crypto.randomUUID()}.ts`;
  await Deno.writeTextFile(tmp, stripped);
  try {
    const r = await denoCheck(tmp);
    assert.notEqual(r.code, 0);
    const lines = text.split("\n");
    const errorLines = new Set(
      // "    at file:line:col" (deeper-indented lines point at related declarations)
      [...r.out.matchAll(/^ {4}at \S+\.stripped_[\w-]+\.ts:(\d+):\d+/gm)].map((m) => Number(m[1])),
    );
    const expectedLines = lines
      .map((l, i) => l.trim().startsWith("// @ts-expect-error") ? i + 2 : 0)
      .filter((n) => n > 0);
    assert.deepEqual([...errorLines].sort((a, b) => a - b), expectedLines, r.out);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("typed Client and XClient call a Deno server, options reachable", async () => {
  const server = await interopServer();
  const addr = await server.serve("tcp", "127.0.0.1:0");
  const client = new Client(`tcp@${addr}`);
  const x = new XClient(
    "Echo",
    FailMode.Failfast,
    SelectMode.RoundRobin,
    new Peer2PeerDiscovery(`tcp@${addr}`),
  );
  try {
    const arith = client.typed<Arith>("Arith");
    assert.deepEqual(await arith.Mul({ A: 10, B: 20 }), { C: 200 });
    assert.deepEqual(await arith.Add({ A: 10, B: 20 }), { C: 30 });
    assert.equal(arith.Mul, arith.Mul, "one function per method name");

    const echo = x.typed<Echo>();
    const replyMetadata: Metadata = {};
    const r = await echo.Meta({ Data: "d" }, { metadata: { k1: "v1" }, replyMetadata });
    assert.deepEqual(r, { Data: "d" });
    assert.equal(replyMetadata.k1, "v1");
    await assert.rejects(echo.Delay({ Ms: 2000, Tag: 1 }, { timeout: 100 }), CallTimeoutError);
    const ac = new AbortController();
    const p = echo.Delay({ Ms: 2000, Tag: 2 }, { signal: ac.signal });
    ac.abort();
    await assert.rejects(p);
    await assert.rejects(
      echo.Fail(),
      (e) => e instanceof ServiceError && /deliberate/.test(e.message),
    );
    // A name the server does not have reaches the server and comes back as its error.
    const untyped = x.typed<{ Div(a: unknown): unknown }>();
    await assert.rejects(untyped.Div({}), /can't find method Div/);
    // Awaiting or logging the proxy does not call anything.
    assert.equal((echo as unknown as { then?: unknown }).then, undefined);
  } finally {
    await x.close();
    await client.close();
    await server.close();
  }
});

Deno.test("typed XClient calls a Go server", async () => {
  if (!needs("Go rpcx peer", GO_PEER ? undefined : ".cache/bin/rpcxpeer missing")) return;
  const go = await startGoServer(undefined, ["--services", "Arith,Echo"]);
  const x = new XClient(
    "Arith",
    FailMode.Failover,
    SelectMode.RoundRobin,
    new MultipleServersDiscovery([{ key: go.key, value: "" }]),
  );
  try {
    const arith = x.typed<Arith>();
    const { C } = await arith.Mul({ A: 10, B: 20 }, { timeout: 5000 });
    assert.equal(C, 200);
    assert.deepEqual(await arith.Add({ A: -7, B: 3 }), { C: -4 });
  } finally {
    await x.close();
    await go.stop();
  }
});

/** A service with what the server leaves out: a `_` method and a non-function field. */
class Odd {
  count = 7;
  seen: unknown[] = [];
  Ping(...given: unknown[]) {
    this.seen.push(given);
    return "pong";
  }
  Mul(args: { A: number; B: number }) {
    return { C: args.A * args.B };
  }
  _secret() {
    return "leaked";
  }
}

Deno.test("typed client at run time: a method without parameters is called with no args; `_` methods and fields are not served", async () => {
  const payloads: string[] = []; // the request payloads of Odd.Ping, in hex
  const server = new Server({
    plugins: [{
      postReadRequest: (req) => {
        if (req.serviceMethod !== "Ping") return;
        payloads.push([...req.payload].map((b) => b.toString(16).padStart(2, "0")).join(""));
      },
    }],
  });
  const odd = new Odd();
  await server.register(odd, "Odd");
  const addr = await server.serve("tcp", "127.0.0.1:0");
  const client = new Client(`tcp@${addr}`);
  try {
    const typed = client.typed<Odd>("Odd");
    assert.equal(await typed.Ping(), "pong");
    assert.equal(await typed.Ping(undefined, { timeout: 1000 }), "pong");
    // No args: MsgPack nil on the wire, as Go's client sends for nil args.
    assert.deepEqual(payloads, ["c0", "c0"]);
    assert.deepEqual(odd.seen.map((g) => (g as unknown[])[0]), [null, null]);
    assert.deepEqual(await typed.Mul({ A: 6, B: 7 }), { C: 42 });
    // What the types leave out, the server does not serve either.
    const raw = typed as unknown as Record<string, (args?: unknown) => Promise<unknown>>;
    for (const name of ["_secret", "count", "seen", "constructor"]) {
      await assert.rejects(raw[name](), new RegExp(`can't find method ${name}`), name);
    }
  } finally {
    await client.close();
    await server.close();
  }
});
