// The fetch-style HTTP server on node:http (src/_internal/serve_fetch.ts) that serveMetrics and
// `rpcx ui` use on every runtime: listen errors as node:http reports them, a handler that throws
// answered 500 and logged, a streamed answer cancelled when its client leaves, and a bounded
// shutdown (kept-alive connections closed at once, a request in progress given the grace
// period, then cut). tests/npm_test.ts runs the same code under Node and Bun.
import assert from "node:assert/strict";
import { type Logger, setLogger } from "@rpcx/core";
import { serveFetch } from "../src/_internal/serve_fetch.ts";
import { bounded, waitFor } from "./support/env.ts";

Deno.test("serveFetch: port 0 picks a port; a taken port rejects with EADDRINUSE, a foreign address with its code; IPv6 in brackets", async () => {
  const a = await serveFetch({ hostname: "127.0.0.1", port: 0 }, () => new Response("a"));
  try {
    assert.equal(a.hostname, "127.0.0.1");
    assert.ok(a.port > 0);
    assert.equal(a.addr, `127.0.0.1:${a.port}`);
    assert.equal(await (await fetch(`http://${a.addr}/`)).text(), "a");
    await assert.rejects(
      serveFetch({ hostname: "127.0.0.1", port: a.port }, () => new Response("b")),
      (e: Error & { code?: string }) => e.code === "EADDRINUSE",
    );
    // Not an address of this host (TEST-NET-1): EADDRNOTAVAIL on Node, EINVAL on Deno.
    await assert.rejects(
      serveFetch({ hostname: "192.0.2.1", port: 0 }, () => new Response("c")),
      (e: Error & { code?: string }) => /^E[A-Z]+$/.test(e.code ?? ""),
    );
  } finally {
    await a.shutdown();
  }
  let v6;
  try {
    v6 = await serveFetch({ hostname: "::1", port: 0 }, () => new Response("v6"));
  } catch {
    return; // no IPv6 loopback here
  }
  try {
    assert.equal(v6.addr, `[::1]:${v6.port}`);
    assert.equal(await (await fetch(`http://${v6.addr}/`)).text(), "v6");
  } finally {
    await v6.shutdown();
  }
});

Deno.test("serveFetch: a handler that throws gets 500 and a log record; the server keeps serving", async () => {
  const errors: string[] = [];
  const memory: Logger = {
    debug: () => {},
    info: () => {},
    warn: () => {},
    error: (msg, fields) => errors.push(`${msg} ${fields?.error}`),
  };
  const previous = setLogger(memory);
  const s = await serveFetch({ hostname: "127.0.0.1", port: 0, name: "probe" }, (req) => {
    if (new URL(req.url).pathname === "/boom") throw new Error("boom");
    return new Response("fine");
  });
  try {
    const r = await fetch(`http://${s.addr}/boom`);
    assert.equal(r.status, 500);
    await r.body?.cancel();
    assert.deepEqual(errors, ["probe: the request handler failed Error: boom"]);
    assert.equal(await (await fetch(`http://${s.addr}/`)).text(), "fine");
  } finally {
    setLogger(previous);
    await s.shutdown();
  }
});

Deno.test("serveFetch: a streamed answer is cancelled when its client goes away", async () => {
  const { promise: cancelled, resolve } = Promise.withResolvers<void>();
  const s = await serveFetch({ hostname: "127.0.0.1", port: 0 }, () =>
    new Response(
      new ReadableStream({
        start(c) {
          c.enqueue(new TextEncoder().encode("data: 1\n\n"));
        },
        cancel: () => resolve(),
      }),
      { headers: { "content-type": "text/event-stream" } },
    ));
  try {
    const ac = new AbortController();
    const r = await fetch(`http://${s.addr}/`, { signal: ac.signal });
    const reader = r.body!.getReader();
    assert.equal(new TextDecoder().decode((await reader.read()).value), "data: 1\n\n");
    ac.abort();
    await bounded(cancelled, 5000, "the stream cancelled");
  } finally {
    await s.shutdown();
  }
});

Deno.test("serveFetch: shutdown closes kept-alive connections at once, lets a request in progress finish, and cuts one past the grace period", async () => {
  let release: (() => void) | undefined;
  let neverStarted = false;
  const s = await serveFetch(
    { hostname: "127.0.0.1", port: 0, shutdownGraceMs: 800 },
    async (req) => {
      const path = new URL(req.url).pathname;
      if (path === "/slow") await new Promise<void>((r) => (release = r));
      if (path === "/never") {
        neverStarted = true;
        await new Promise(() => {});
      }
      return new Response(path);
    },
  );
  // A connection kept alive by fetch's pool that served two requests, idle now (Deno's
  // closeIdleConnections() misses this one).
  assert.equal(await (await fetch(`http://${s.addr}/idle`)).text(), "/idle");
  assert.equal(await (await fetch(`http://${s.addr}/idle2`)).text(), "/idle2");
  const slow = fetch(`http://${s.addr}/slow`).then((r) => r.text());
  const never = fetch(`http://${s.addr}/never`).then((r) => r.text());
  // It rejects while `slow` is awaited below: handled now, asserted there.
  never.catch(() => {});
  // Both requests in the handler before the shutdown: a /never not yet arrived was cut as no
  // request (rejected at once, unhandled then: failed 2 runs in 15 under load).
  await waitFor(
    "the slow and the never request in the handler",
    () => !!release && neverStarted,
    5000,
    10,
  );
  const t0 = performance.now();
  const closed = s.shutdown();
  assert.equal(s.shutdown(), closed, "repeat calls share one shutdown");
  release!();
  assert.equal(await slow, "/slow", "a request in progress gets its answer");
  await assert.rejects(never, "a request past the grace period has its connection cut");
  await bounded(closed, 5000, "shutdown");
  const ms = performance.now() - t0;
  assert.ok(ms >= 700 && ms < 3000, `shutdown took ${Math.round(ms)} ms (grace 800)`);
  await assert.rejects(fetch(`http://${s.addr}/`), "nothing listens after shutdown");
});
