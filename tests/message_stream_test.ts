// Typed message streams over the stream service: 100,000 messages each way under backpressure,
// cancellation by AbortSignal, typed errors both ways, the JSON codec.
import assert from "node:assert/strict";
import { SerializeType } from "@rpcx/core";
import {
  DataConnectionError,
  DataTimeoutError,
  type MessageHandler,
  messageStreamHandler,
  MessageTooLargeError,
  openMessageStream,
  RemoteStreamError,
  StreamAbortedError,
  StreamNotAcceptedError,
} from "@rpcx/core/stream";
import { bounded, delay } from "./support/env.ts";
import { startTsDataServer, xclientFor } from "./support/stream_files.ts";

const N = 100_000;

/** A message of ~1 KiB: enough for the socket buffers to fill long before N. */
interface Msg {
  i: number;
  pad: string;
}
const PAD = "x".repeat(1000);

async function serverWith(handler: MessageHandler<unknown, unknown>, options = {}) {
  const errors: unknown[] = [];
  const ts = await startTsDataServer({}, {
    handler: messageStreamHandler(handler, options),
    onError: (e) => errors.push(e),
  });
  return { ts, errors, x: xclientFor("_streamservice", ts.addr) };
}

Deno.test("100,000 messages each way, the producer held back while the consumer does not read", async () => {
  // The server counts what it has received so far and echoes it.
  let received = 0;
  const { ts, x } = await serverWith(async function* (messages) {
    for await (const m of messages) {
      received++;
      yield m;
    }
  });
  try {
    const ms = await openMessageStream<Msg, Msg>(x, { signal: AbortSignal.timeout(120_000) });
    let produced = 0;
    const sending = ms.sendAll((function* () {
      for (let i = 0; i < N; i++, produced++) yield { i, pad: PAD };
    })());
    // Nobody reads our side for 500 ms: the server's sends wait, so its reads stop, so ours.
    await delay(500);
    const heldAt = produced;
    assert.ok(heldAt < N / 2, `produced ${heldAt} of ${N} while nobody read`);
    assert.ok(received <= heldAt);
    let i = 0;
    for await (const m of ms) {
      if (m.i !== i || m.pad !== PAD) assert.fail(`message ${i}: ${m.i}`);
      i++;
    }
    await sending;
    assert.equal(i, N);
    assert.equal(received, N);
  } finally {
    await x.close();
    await ts.close();
  }
});

Deno.test("100,000 messages from the server, its generator held back by a slow client", async () => {
  let produced = 0;
  const { ts, x } = await serverWith(function* () {
    for (let i = 0; i < N; i++, produced++) yield { i, pad: PAD };
  });
  try {
    const ms = await openMessageStream<Msg, Msg>(x, { serializeType: SerializeType.MsgPack });
    await ms.end(); // nothing to send
    await delay(500);
    assert.ok(produced < N / 2, `server produced ${produced} before we read`);
    let i = 0;
    for await (const m of ms.readable) {
      assert.equal(m.i, i++);
      if (i % 10_000 === 0) await delay(1); // a slow consumer
    }
    assert.equal(i, N);
  } finally {
    await x.close();
    await ts.close();
  }
});

Deno.test("JSON codec: the stream uses the codec of its Stream call", async () => {
  const { ts, x } = await serverWith(async function* (messages, _args, info) {
    assert.equal(info.serializeType, SerializeType.JSON);
    for await (const m of messages) yield { got: m, codec: info.serializeType };
  });
  try {
    const ms = await openMessageStream<unknown, unknown>(x, { serializeType: SerializeType.JSON });
    await ms.sendAll([{ a: 1 }, [1, "two"], "three"]);
    const got = await Array.fromAsync(ms);
    assert.deepEqual(got, [
      { got: { a: 1 }, codec: 1 },
      { got: [1, "two"], codec: 1 },
      { got: "three", codec: 1 },
    ]);
  } finally {
    await x.close();
    await ts.close();
  }
});

Deno.test("cancellation: the client's AbortSignal fails it with StreamAbortedError, the handler with RemoteStreamError", async () => {
  let handlerError: unknown;
  const { ts, x, errors } = await serverWith(async function* (messages) {
    try {
      for await (const m of messages) yield m;
    } catch (e) {
      handlerError = e;
      throw e;
    }
  });
  try {
    const ac = new AbortController();
    const ms = await openMessageStream<number, number>(x, { signal: ac.signal });
    await ms.send(1);
    assert.deepEqual(await ms.next(), { done: false, value: 1 });
    const pending = ms.next();
    ac.abort("enough");
    await assert.rejects(pending, (e) => e instanceof StreamAbortedError && e.cause === "enough");
    await assert.rejects(ms.send(2), StreamAbortedError);
    await bounded(
      (async () => {
        while (!handlerError) await delay(10);
      })(),
      5_000,
      "the handler to fail",
    );
    assert.ok(handlerError instanceof RemoteStreamError);
    assert.equal((handlerError as Error).message, "rpcx: stream aborted");
    assert.ok(errors.some((e) => e instanceof RemoteStreamError));
    // An already aborted signal: nothing is opened.
    await assert.rejects(
      openMessageStream(x, { signal: AbortSignal.abort("no") }),
      StreamAbortedError,
    );
    // The service goes on.
    const again = await openMessageStream<number, number>(x);
    await again.sendAll([7]);
    assert.deepEqual(await Array.fromAsync(again), [7]);
  } finally {
    await x.close();
    await ts.close();
  }
});

Deno.test("errors: a handler that throws, messages over the bound, a refused caller, a stalled peer", async () => {
  const { ts, x, errors } = await serverWith(async function* (messages, args) {
    if (args.meta.mode === "throw") {
      yield "before";
      throw new Error("boom");
    }
    if (args.meta.mode === "stall") {
      // Never answers, never reads, until the connection goes.
      await new Promise((r) => messages.signal.addEventListener("abort", r));
    }
    if (args.meta.mode === "count") {
      let n = 0;
      for await (const _ of messages) n++;
      yield n;
      return;
    }
    yield* messages;
  }, { maxMessageSize: 100 });
  try {
    const a = await openMessageStream<string, string>(x, { meta: { mode: "throw" } });
    assert.deepEqual(await a.next(), { done: false, value: "before" });
    await assert.rejects(a.next(), (e) => e instanceof RemoteStreamError && e.message === "boom");
    assert.ok(errors.some((e) => (e as Error).message === "boom"));

    // Over our bound: refused locally, the stream goes on.
    const b = await openMessageStream<string, string>(x, { maxMessageSize: 50 });
    await assert.rejects(
      b.send("y".repeat(60)),
      (e) => e instanceof MessageTooLargeError && e.limit === 50,
    );
    await b.send("fits");
    assert.deepEqual(await b.next(), { done: false, value: "fits" });
    // Over the server's bound (100): it refuses the frame and tells us.
    const big = await openMessageStream<string, string>(x);
    await big.send("z".repeat(150));
    await assert.rejects(
      big.next(),
      (e) =>
        e instanceof RemoteStreamError &&
        /message of 152 bytes over the 100-byte bound/.test(e.message),
    );
    assert.ok(errors.some((e) => e instanceof MessageTooLargeError));

    // The acceptor: no handler for this caller.
    const { ts: ts2, x: x2 } = await (async () => {
      const t = await startTsDataServer({}, { acceptor: () => false });
      return { ts: t, x: xclientFor("_streamservice", t.addr) };
    })();
    try {
      await assert.rejects(openMessageStream(x2), StreamNotAcceptedError);
    } finally {
      await x2.close();
      await ts2.close();
    }

    // A caller that goes away without ending: the handler's iteration fails, never ends cleanly.
    const before = errors.length;
    const d = await openMessageStream<string, number>(x, { meta: { mode: "count" } });
    await d.send("one");
    await d.flush();
    d.close();
    await bounded(
      (async () => {
        while (errors.length === before) await delay(10);
      })(),
      5_000,
      "the cut stream reported",
    );
    assert.ok(errors[before] instanceof DataConnectionError, String(errors[before]));
    assert.match((errors[before] as Error).message, /without ending it/);

    // A handler that stalls: our idle bound ends the wait.
    const c = await openMessageStream<string, string>(x, {
      meta: { mode: "stall" },
      idleTimeout: 300,
    });
    await assert.rejects(c.next(), (e) => e instanceof DataTimeoutError && e.timeout === 300);
  } finally {
    await x.close();
    await ts.close();
  }
});
