// The stream service's close() right after a client finished its stream cleanly (the README's
// streams example: chat.finish(), then ss.close()) logs no "data connection failed" warning: a
// data connection whose peer already ended cleanly is not a failure. A real failure (the
// handler throws) still warns.
import assert from "node:assert/strict";
import { FailMode, Peer2PeerDiscovery, SelectMode, Server, XClient } from "@rpcx/core";
import * as st from "@rpcx/core/stream";
import { bounded } from "./support/env.ts";
import { capturingWarn } from "./support/log_capture.ts";

/** The README's sequence: echo service, a message stream finished cleanly, then close all. */
async function readmeSequence(handler: st.DataHandler<st.StreamServiceArgs>): Promise<unknown> {
  const server = new Server();
  const ss = new st.StreamService({ addr: "127.0.0.1:0", handler });
  await st.enableStreamService(server, ss);
  const addr = await server.serve("tcp", "127.0.0.1:0");
  const discovery = new Peer2PeerDiscovery(`tcp@${addr}`);
  const streams = new XClient(
    "_streamservice",
    FailMode.Failtry,
    SelectMode.RandomSelect,
    discovery,
  );
  let failure: unknown;
  try {
    const chat = await st.openMessageStream<{ n: number }, { n: number }>(streams, {});
    const sent = chat.sendAll([{ n: 1 }, { n: 2 }, { n: 3 }]);
    let got = 0;
    try {
      for await (const _ of chat) if (++got === 3) break;
      await sent;
      await chat.finish();
    } catch (e) {
      failure = e;
      await chat.finish().catch(() => {});
    }
  } finally {
    await streams.close();
    await discovery.close();
    await server.shutdown();
    await bounded(ss.close(), 10_000, "ss.close()");
  }
  return failure;
}

const echo: st.DataHandler<st.StreamServiceArgs> = (conn) => conn.readable.pipeTo(conn.writable);

Deno.test("stream service close() right after a clean chat.finish(): no 'data connection failed' warning", async () => {
  for (let i = 0; i < 5; i++) {
    const { warnings } = await capturingWarn(async () => {
      assert.equal(await readmeSequence(echo), undefined);
    });
    assert.deepEqual(
      warnings.filter((w) => w.includes("data connection failed")),
      [],
      `round ${i}`,
    );
  }
});

Deno.test("stream service: a handler that fails still warns 'data connection failed'", async () => {
  const { warnings } = await capturingWarn(async () => {
    await readmeSequence(async (conn) => {
      const reader = conn.readable.getReader();
      await reader.read();
      throw new st.DataConnectionError("handler broke");
    });
  });
  assert.ok(
    warnings.some((w) => w.includes("data connection failed") && w.includes("handler broke")),
    JSON.stringify(warnings),
  );
});
