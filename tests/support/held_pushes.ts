// The check of a client with bidirectionalBlock that stops reading its pushes, for
// tests/push_test.ts (tcp, inprocess) and tests/inprocess_test.ts (each in-process network).
import assert from "node:assert/strict";
import {
  type ConnInfo,
  PushBufferFullError,
  type Server,
  type ServerMessageStream,
} from "@rpcx/core";
import { bounded, delay, waitFor } from "./env.ts";

/**
 * A pusher held by a reader that stopped (bidirectionalBlock): `count` pushes of 4 KiB (metadata
 * `i`) sent at once to `caller`, whose client's `stream` (its `maxBuffered`) is not read. The
 * server's pending bytes for it never pass `limit`; some pushes fail with PushBufferFullError;
 * the stream holds `maxBuffered`. Then the stream is read: every push taken arrives, in order,
 * none dropped, and closing `client` ends it. Each wait bounded by `ms`.
 */
export async function assertHeldPushes(
  server: Server,
  caller: ConnInfo,
  client: { close(): Promise<void> },
  stream: ServerMessageStream,
  o: { count: number; limit: number; maxBuffered: number; ms: number },
): Promise<void> {
  const data = new Uint8Array(4096);
  let accepted = 0;
  let full = 0;
  const writes: Promise<void>[] = [];
  for (let i = 0; i < o.count; i++) {
    writes.push(
      server.sendMessage(caller, "", "", { i: String(i) }, data).then(
        () => void accepted++,
        (e) => {
          assert.ok(e instanceof PushBufferFullError, `got ${e}`);
          full++;
        },
      ),
    );
    assert.ok(server.pendingPushBytes(caller) <= o.limit);
    if (i % 100 === 99) await delay(0);
  }
  await delay(50);
  assert.ok(full > 0, "the pusher was held: pushes refused");
  assert.equal(stream.buffered, o.maxBuffered);
  // Read everything: each push that was taken arrives, in order, none dropped.
  const got: number[] = [];
  const reading = (async () => {
    for await (const m of stream) got.push(Number(m.metadata.i));
  })();
  await bounded(Promise.all(writes), o.ms, "pushes settled");
  await waitFor("every accepted push read", () => got.length === accepted, o.ms, 5);
  assert.equal(accepted + full, o.count);
  assert.deepEqual(got, [...got].sort((a, b) => a - b));
  assert.equal(stream.dropped, 0);
  await client.close();
  await bounded(reading, o.ms, "the stream to end on close");
}
