// The in-memory pipe under the `inprocess` network (src/transport/pipe.ts): bytes both ways
// with no buffer (a write waits for the reader), its end and its errors; whole messages through
// `messageLink`, also with a peer end that reads and writes frames; PipeNetwork's names.
import assert from "node:assert/strict";
import {
  Client,
  ConnectionRefusedError,
  ListenError,
  PeerGoneError,
  SerializeType,
  Server,
  SocketError,
} from "@rpcx/core";
import { inprocessNetwork, jsonCodec, pipe, PipeNetwork } from "@rpcx/core/extend";
import {
  createMessage,
  FramedConnection,
  FrameTooLargeError,
  InvalidMagicError,
  type Message,
  MessageType,
} from "@rpcx/core/protocol";
import { bounded, waitFor } from "./support/env.ts";

const text = (b: Uint8Array) => new TextDecoder().decode(b);

Deno.test("pipe: bytes cross in reads of the reader's size; a write resolves only once all of it was read", async () => {
  const [a, b] = pipe("test", "a-end", "b-end");
  assert.equal(a.localAddress, "a-end");
  assert.equal(a.remoteAddress, "b-end");
  assert.equal(b.localAddress, "b-end");
  let written: number | undefined;
  const writing = a.write(new TextEncoder().encode("hello world")).then((n) => (written = n));
  const buf = new Uint8Array(4);
  const parts: string[] = [];
  for (let i = 0; i < 3; i++) {
    await Promise.resolve();
    assert.equal(written, undefined, "the write waits for the reader");
    const n = await b.read(buf);
    parts.push(text(buf.subarray(0, n!)));
  }
  await writing;
  assert.deepEqual(parts, ["hell", "o wo", "rld"]);
  assert.equal(written, 11);
  // The other way, a read waiting first.
  const reading = a.read(new Uint8Array(16));
  assert.equal(await b.write(new Uint8Array([1, 2, 3])), 3);
  assert.equal(await reading, 3);
  a.close();
  b.close();
});

Deno.test("pipe: closing an end ends the other's reads; writes to it fail PeerGoneError (broken pipe), on it SocketError", async () => {
  const [a, b] = pipe("test", "a-end", "b-end");
  const pendingRead = b.read(new Uint8Array(8));
  const pendingWrite = b.write(new Uint8Array(8)); // nobody reads it
  a.close();
  assert.equal(await pendingRead, null);
  await assert.rejects(pendingWrite, (e: Error) => {
    assert.ok(e instanceof PeerGoneError);
    assert.equal(e.reason, "broken-pipe");
    assert.equal(e.message, "write test b-end->a-end: write: broken pipe");
    return true;
  });
  assert.equal(await b.read(new Uint8Array(8)), null);
  await assert.rejects(b.write(new Uint8Array(1)), PeerGoneError);
  await assert.rejects(a.write(new Uint8Array(1)), (e: Error) => {
    assert.ok(e instanceof SocketError && !(e instanceof PeerGoneError));
    assert.equal(e.message, "write test a-end->b-end: use of closed network connection");
    return true;
  });
  assert.equal(await a.read(new Uint8Array(8)), null);
  b.close();
});

/** A message link on one end and a FramedConnection on the other of a pipe. */
function mixed() {
  const [a, b] = pipe();
  const toLink: Message[] = [];
  const toFramed: Message[] = [];
  const errors: unknown[] = [];
  let linkClosed = 0;
  const link = a.messageLink!({
    onMessage: (m) => void toLink.push(m),
    onError: (e) => void errors.push(e),
    onClose: () => void linkClosed++,
  }, { maxMessageLength: 1024 });
  const framed = new FramedConnection(b, { onMessage: (m) => void toFramed.push(m) });
  link.start();
  framed.start();
  return { a, b, link, framed, toLink, toFramed, errors, closed: () => linkClosed };
}

const request = (seq: bigint, body: unknown) =>
  createMessage({
    seq,
    servicePath: "Arith",
    serviceMethod: "Mul",
    serializeType: SerializeType.JSON,
    metadata: { n: String(seq) },
    payload: jsonCodec.encode(body),
  });

Deno.test("pipe: a message link talks to a peer end that reads and writes frames (encoded for it, decoded from it)", async () => {
  const m = mixed();
  try {
    for (let i = 1; i <= 3; i++) m.link.send(request(BigInt(i), { A: i }));
    await waitFor("the frames", () => m.toFramed.length === 3, 2000, 5);
    assert.deepEqual(m.toFramed.map((x) => [x.seq, x.metadata.n, jsonCodec.decode(x.payload)]), [
      [1n, "1", { A: 1 }],
      [2n, "2", { A: 2 }],
      [3n, "3", { A: 3 }],
    ]);
    m.framed.send(createMessage({ ...request(9n, { C: 9 }), messageType: MessageType.Response }));
    await waitFor("the message", () => m.toLink.length === 1, 2000, 5);
    assert.equal(m.toLink[0].seq, 9n);
    assert.equal(m.toLink[0].messageType, MessageType.Response);
    assert.deepEqual(jsonCodec.decode(m.toLink[0].payload), { C: 9 });
    // A frame over the link's maxMessageLength fails it, as a FramedConnection would.
    m.framed.send(request(10n, { big: "x".repeat(2000) }));
    await waitFor("the link closed", () => m.closed() === 1, 2000, 5);
    assert.ok(m.errors[0] instanceof FrameTooLargeError, `got ${m.errors[0]}`);
    assert.ok(m.link.isClosed);
    await bounded(m.framed.closed, 2000, "the framed end to see the close");
  } finally {
    m.link.close();
    m.framed.close();
  }
});

Deno.test("pipe: bytes that are not rpcx close a message link with InvalidMagicError", async () => {
  const m = mixed();
  await m.b.write(new TextEncoder().encode("GET / HTTP/1.1\r\n\r\n"));
  await waitFor("the link closed", () => m.closed() === 1, 2000, 5);
  assert.ok(m.errors[0] instanceof InvalidMagicError, `got ${m.errors[0]}`);
  m.framed.close();
});

Deno.test("pipe: a message link hands over a copy taken at send: what the sender changes later stays its own", async () => {
  const [a, b] = pipe();
  const got: Message[] = [];
  const sender = a.messageLink!({ onMessage: () => {} });
  const receiver = b.messageLink!({ onMessage: (m) => void got.push(m) });
  sender.start();
  receiver.start();
  const msg = request(1n, { A: 1 });
  sender.send(msg);
  msg.metadata.late = "changed after send";
  msg.seq = 99n;
  await bounded(sender.drained(), 2000, "drained");
  assert.equal(got.length, 1);
  assert.equal(got[0].seq, 1n);
  const received: Record<string, string> = got[0].metadata;
  assert.deepEqual({ ...received }, { n: "1" });
  received.back = "changed by the receiver";
  assert.equal(msg.metadata.back, undefined);
  sender.close();
  await waitFor("the receiver sees the close", () => receiver.isClosed, 2000, 5);
});

Deno.test("PipeNetwork: a name is served once, freed on close; dialing a name nobody serves is ConnectionRefusedError; a dial never accepted ends when the listener closes", async () => {
  const net = new PipeNetwork("test");
  const listener = await net.listen("svc");
  assert.ok(net.has("svc"));
  await assert.rejects(net.listen("svc"), (e: Error) => {
    assert.ok(e instanceof ListenError);
    assert.equal(e.reason, "in-use");
    assert.equal(e.message, "listen test svc: name already in use");
    return true;
  });
  const conn = await net.dial("svc");
  assert.equal(conn.network, "test");
  assert.equal(conn.remoteAddress, "svc");
  assert.match(conn.localAddress, /^test-client-\d+$/);
  await listener.close();
  assert.ok(!net.has("svc"));
  assert.equal(await bounded(conn.read(new Uint8Array(8)), 2000, "EOF"), null);
  await assert.rejects(net.dial("svc"), (e: Error) => {
    assert.ok(e instanceof ConnectionRefusedError);
    assert.equal(e.message, "dial test@svc: connection refused");
    return true;
  });
  await (await net.listen("svc")).close();
});

Deno.test("inprocess: a client that writes frames itself (bytes on a pipe end) is served as on a socket, limits included", async () => {
  const server = new Server({ maxMessageLength: 1024 });
  await server.register({ Mul: (a: { A: number; B: number }) => ({ C: a.A * a.B }) }, "Arith");
  await server.serve("inprocess", "pipe-framed-client");
  const conn = await inprocessNetwork.dial("pipe-framed-client");
  const replies: Message[] = [];
  const fc = new FramedConnection(conn, { onMessage: (m) => void replies.push(m) });
  fc.start();
  try {
    fc.send(request(1n, { A: 6, B: 7 }));
    fc.send(request(2n, { A: 1, B: 2, pad: "x".repeat(2000) })); // over the server's limit
    await waitFor("two replies", () => replies.length === 2, 2000, 5);
    const [ok, tooBig] = replies.sort((x, y) => Number(x.seq - y.seq)); // the error is answered first
    assert.equal(ok.seq, 1n);
    assert.deepEqual(jsonCodec.decode(ok.payload), { C: 42 });
    assert.equal(tooBig.seq, 2n);
    assert.match(
      tooBig.metadata.__rpcx_error__,
      /^rpcx: message length \d+ exceeds the limit of 1024 bytes$/,
    );
    // The server's own Client on the same name takes messages whole.
    const client = new Client("inprocess@pipe-framed-client");
    assert.deepEqual(await client.call("Arith", "Mul", { A: 2, B: 3 }), { C: 6 });
    await client.close();
  } finally {
    fc.close();
    await server.close();
  }
});
