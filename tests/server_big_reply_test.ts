// A reply or a push longer than the server's maxMessageLength is not sent: the caller gets an
// error naming the sizes, and the connection and the other calls on it go on (a client with the
// same limit would otherwise close its whole connection on the frame, failing every call there).
import assert from "node:assert/strict";
import {
  type CallContext,
  Client,
  type ConnInfo,
  Server,
  type ServerOptions,
  ServiceError,
} from "@rpcx/core";
import { FrameTooLargeError } from "@rpcx/core/protocol";
import { bounded, sleep } from "./support/env.ts";

const MiB = 1024 * 1024;

async function withServer(
  options: ServerOptions,
  fn: (addr: string, server: Server, callers: ConnInfo[]) => Promise<void>,
): Promise<void> {
  const server = new Server(options);
  const callers: ConnInfo[] = [];
  await server.register({
    Big: (args: { n?: number }) => new Uint8Array(args.n ?? 20 * MiB),
    Sleep: (args: { ms: number }, ctx: CallContext) =>
      sleep(args.ms, ctx.signal).then(() => args.ms),
    Hello: (_args: unknown, ctx: CallContext) => {
      callers.push(ctx.conn);
      return "hello";
    },
  }, "Work");
  const addr = await server.serve("tcp", "127.0.0.1:0");
  try {
    await fn(addr, server, callers);
  } finally {
    await server.close();
  }
}

Deno.test("a reply over the server's maxMessageLength fails alone with a ServiceError naming the sizes; the call beside it and later calls succeed", async () => {
  const serviceErrors: unknown[] = [];
  await withServer({ handleServiceError: (e) => void serviceErrors.push(e) }, async (addr) => {
    const client = new Client(`tcp@${addr}`, { timeout: 20_000 });
    try {
      const slow = client.call("Work", "Sleep", { ms: 500 });
      const big = client.call("Work", "Big", {});
      const [s, b] = await bounded(Promise.allSettled([slow, big]), 25_000, "both calls");
      assert.equal(b.status, "rejected");
      const error = (b as PromiseRejectedResult).reason;
      assert.ok(error instanceof ServiceError, `want a ServiceError, got ${error}`);
      assert.match(
        error.message,
        /rpcx: reply of 209715\d\d bytes exceeds the limit of 16777216 bytes/,
      );
      assert.deepEqual(s, { status: "fulfilled", value: 500 });
      // The same connection goes on serving.
      assert.equal(await client.call("Work", "Sleep", { ms: 1 }), 1);
      assert.equal((await client.call("Work", "Big", { n: 1024 }) as Uint8Array).byteLength, 1024);
      assert.equal(serviceErrors.length, 1);
      assert.match(String(serviceErrors[0]), /reply of \d+ bytes exceeds the limit/);
    } finally {
      client.close();
    }
  });
});

Deno.test("a reply just over a small server maxMessageLength is refused; one under it is sent", async () => {
  await withServer({ maxMessageLength: 64 * 1024 }, async (addr) => {
    const client = new Client(`tcp@${addr}`, { timeout: 5_000 });
    try {
      await assert.rejects(
        client.call("Work", "Big", { n: 64 * 1024 }),
        (e: unknown) =>
          e instanceof ServiceError &&
          /rpcx: reply of \d+ bytes exceeds the limit of 65536 bytes/.test(e.message),
      );
      const ok = await client.call("Work", "Big", { n: 60 * 1024 }) as Uint8Array;
      assert.equal(ok.byteLength, 60 * 1024);
    } finally {
      client.close();
    }
  });
});

Deno.test("a push over the server's maxMessageLength is refused with FrameTooLargeError; the connection goes on", async () => {
  await withServer({ maxMessageLength: 64 * 1024 }, async (addr, server, callers) => {
    const client = new Client(`tcp@${addr}`, { timeout: 5_000 });
    try {
      assert.equal(await client.call("Work", "Hello", {}), "hello");
      await assert.rejects(
        server.sendMessage(callers[0], "news", "big", {}, new Uint8Array(100 * 1024)),
        (e: unknown) => e instanceof FrameTooLargeError && e.limit === 64 * 1024,
      );
      const pushes = client.serverMessages();
      await server.sendMessage(callers[0], "news", "small", {}, new Uint8Array(10));
      const msg = await bounded(pushes.next(), 5_000, "small push");
      assert.equal(msg.value?.serviceMethod, "small");
      assert.equal(await client.call("Work", "Sleep", { ms: 1 }), 1);
    } finally {
      client.close();
    }
  });
});

Deno.test("in-process (whole messages, nothing framed): a reply over maxMessageLength is delivered", async () => {
  const server = new Server({ maxMessageLength: 64 * 1024 });
  await server.register({ Big: (args: { n: number }) => new Uint8Array(args.n) }, "Work");
  await server.serve("inprocess", "big-reply-whole");
  const client = new Client("inprocess@big-reply-whole", { timeout: 5_000 });
  try {
    const big = await client.call("Work", "Big", { n: 100 * 1024 }) as Uint8Array;
    assert.equal(big.byteLength, 100 * 1024);
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("the bound applies to the reply as written: a preWriteResponse hook that grows it past maxMessageLength gets the error reply sent instead, and handleServiceError is told", async () => {
  const serviceErrors: unknown[] = [];
  const grow = {
    preWriteResponse: (_req: unknown, res: { metadata: Record<string, string> }) => {
      if (res.metadata["grow"] === undefined) res.metadata["grow"] = "x".repeat(70 * 1024);
    },
  };
  await withServer({
    maxMessageLength: 64 * 1024,
    plugins: [grow],
    handleServiceError: (e) => void serviceErrors.push(e),
  }, async (addr) => {
    const client = new Client(`tcp@${addr}`, { timeout: 5_000 });
    try {
      await assert.rejects(
        client.call("Work", "Hello", {}),
        (e: unknown) =>
          e instanceof ServiceError &&
          /rpcx: reply of \d+ bytes exceeds the limit of 65536 bytes/.test(e.message),
      );
      assert.equal(serviceErrors.length, 1);
    } finally {
      client.close();
    }
  });
});
