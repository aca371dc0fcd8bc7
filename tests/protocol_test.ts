import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { CompressType, ProtocolError, SerializeType } from "@rpcx/core";
import { msgpackCodec } from "@rpcx/core/extend";
import {
  createMessage,
  decodeFrame,
  DecompressionError,
  encodeMessage,
  encodeMessages,
  FrameDecoder,
  FrameTooLargeError,
  InvalidMagicError,
  MalformedFrameError,
  type Message,
  MessageStatusType,
  MessageType,
  TruncatedFrameError,
} from "@rpcx/core/protocol";
import { bounded } from "./support/env.ts";

const hex = (s: string) => Uint8Array.from(s.match(/../g)!.map((b) => parseInt(b, 16)));
const toHex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const text = (s: string) => new TextEncoder().encode(s);

// The spec's vectors (shared/spec/rpcx-protocol.md §2).
const VECTORS: { name: string; hex: string; msg: Message }[] = [
  {
    name: "V1 request Arith.Mul JSON",
    hex:
      "08000010000000000000000100000027000000054172697468000000034d756c000000000000000f7b2241223a31302c2242223a32307d",
    msg: createMessage({
      serializeType: SerializeType.JSON,
      seq: 1n,
      servicePath: "Arith",
      serviceMethod: "Mul",
      payload: text('{"A":10,"B":20}'),
    }),
  },
  {
    name: "V2 with __AUTH metadata",
    hex:
      "08000010000000000000000200000038000000054172697468000000034d756c00000011000000065f5f4155544800000003746f6b0000000f7b2241223a31302c2242223a32307d",
    msg: createMessage({
      serializeType: SerializeType.JSON,
      seq: 2n,
      servicePath: "Arith",
      serviceMethod: "Mul",
      metadata: { __AUTH: "tok" },
      payload: text('{"A":10,"B":20}'),
    }),
  },
  {
    name: "V3 response",
    hex:
      "08008010000000000000000100000021000000054172697468000000034d756c00000000000000097b2243223a3230307d",
    msg: createMessage({
      messageType: MessageType.Response,
      serializeType: SerializeType.JSON,
      seq: 1n,
      servicePath: "Arith",
      serviceMethod: "Mul",
      payload: text('{"C":200}'),
    }),
  },
  {
    name: "V4 heartbeat",
    hex: "0800403000000000000000070000001000000000000000000000000000000000",
    msg: createMessage({ heartbeat: true, serializeType: SerializeType.MsgPack, seq: 7n }),
  },
  {
    name: "V5 oneway msgpack",
    hex:
      "0800203000000000000000090000002f00000005417269746800000003416464000000000000001782a141d30000000000000001a142d30000000000000002",
    msg: createMessage({
      oneway: true,
      serializeType: SerializeType.MsgPack,
      seq: 9n,
      servicePath: "Arith",
      serviceMethod: "Add",
      payload: hex("82a141d30000000000000001a142d30000000000000002"),
    }),
  },
  {
    name: "V6 error response",
    hex:
      "0800811000000000000000030000004900000005417269746800000003446976000000310000000e5f5f727063785f6572726f725f5f0000001b727063783a2063616e27742066696e64206d6574686f642044697600000000",
    msg: createMessage({
      messageType: MessageType.Response,
      status: MessageStatusType.Error,
      serializeType: SerializeType.JSON,
      seq: 3n,
      servicePath: "Arith",
      serviceMethod: "Div",
      metadata: { __rpcx_error__: "rpcx: can't find method Div" },
    }),
  },
  {
    name: "V7 raw bytes, large seq",
    hex: "0800000001020304050607080000001b000000044563686f000000054279746573000000000000000200ff",
    msg: createMessage({
      serializeType: SerializeType.SerializeNone,
      seq: 0x0102030405060708n,
      servicePath: "Echo",
      serviceMethod: "Bytes",
      payload: new Uint8Array([0x00, 0xff]),
    }),
  },
];

for (const v of VECTORS) {
  Deno.test(`vector ${v.name}: encode is byte for byte`, () => {
    assert.equal(toHex(encodeMessage(v.msg)), v.hex);
  });
  Deno.test(`vector ${v.name}: decode recovers every field`, () => {
    const got = decodeFrame(hex(v.hex));
    assert.deepEqual({ ...got, payload: toHex(got.payload) }, {
      ...v.msg,
      payload: toHex(v.msg.payload),
    });
  });
}

Deno.test("V5 payload decodes as Go's struct{A, B int}", () => {
  const got = decodeFrame(hex(VECTORS[4].hex));
  assert.deepEqual(msgpackCodec.decode(got.payload), { A: 1, B: 2 });
});

Deno.test("streaming: a stream split at every offset yields the same messages", () => {
  const all = hex(VECTORS.map((v) => v.hex).join(""));
  for (let cut = 0; cut <= all.length; cut++) {
    const d = new FrameDecoder();
    const msgs = [...d.push(all.slice(0, cut)), ...d.push(all.slice(cut))];
    assert.equal(msgs.length, VECTORS.length, `cut at ${cut}`);
    assert.deepEqual(msgs.map((m) => m.seq), VECTORS.map((v) => v.msg.seq));
    d.end();
  }
});

Deno.test("streaming: byte-by-byte delivery, and many frames in one chunk", () => {
  const all = hex(VECTORS.map((v) => v.hex).join(""));
  const d = new FrameDecoder();
  const msgs: Message[] = [];
  for (const b of all) msgs.push(...d.push(new Uint8Array([b])));
  assert.equal(msgs.length, VECTORS.length);
  assert.equal(new FrameDecoder().push(all).length, VECTORS.length);
});

Deno.test("encodeMessages frames back to back", () => {
  const buf = encodeMessages(VECTORS.map((v) => v.msg));
  assert.equal(toHex(buf), VECTORS.map((v) => v.hex).join(""));
});

Deno.test("non-ASCII strings and metadata round trip", () => {
  const msg = createMessage({
    servicePath: "Grüße",
    serviceMethod: "説明",
    metadata: { "ключ": "значение 🎉", empty: "" },
    seq: 0xffffffffffffffffn,
    payload: text("ok"),
  });
  const got = decodeFrame(encodeMessage(msg));
  assert.equal(got.servicePath, "Grüße");
  assert.equal(got.serviceMethod, "説明");
  assert.deepEqual(got.metadata, msg.metadata);
  assert.equal(got.seq, 0xffffffffffffffffn);
});

Deno.test("gzip: flag byte 0x04, round trip, and payloads from another gzip", () => {
  const payload = text("x".repeat(5000));
  const msg = createMessage({ compressType: CompressType.Gzip, seq: 5n, payload });
  const frame = encodeMessage(msg);
  assert.equal(frame[2], 0x04);
  assert.ok(frame.length < 200, "payload was compressed");
  assert.deepEqual(decodeFrame(frame).payload, payload);
  // A frame whose payload was compressed by node's zlib at max level (a different encoder run).
  const other = gzipSync(payload, { level: 9 });
  const plain = encodeMessage(createMessage({ seq: 6n, payload: other }));
  plain[2] |= 0x04; // mark it gzip: the payload bytes are exactly `other`
  assert.deepEqual(decodeFrame(plain).payload, payload);
});

Deno.test("gzip: payload produced by the gzip command line tool", async () => {
  const payload = text("hello from gzip(1) ".repeat(100));
  const child = new Deno.Command("gzip", { args: ["-c"], stdin: "piped", stdout: "piped" })
    .spawn();
  const w = child.stdin.getWriter();
  await w.write(payload);
  await w.close();
  const out = await bounded(child.output(), 10_000, "gzip -c");
  const frame = encodeMessage(createMessage({ payload: out.stdout }));
  frame[2] |= 0x04;
  assert.deepEqual(decodeFrame(frame).payload, payload);
});

function expectProtocolError<E extends ProtocolError>(
  bytes: Uint8Array,
  cls: new (...a: never[]) => E,
  limits = {},
): E {
  const d = new FrameDecoder(limits);
  let err: unknown;
  try {
    d.push(bytes);
    d.end();
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof cls, `expected ${cls.name}, got ${err}`);
  assert.ok(err instanceof ProtocolError);
  // A failed decoder refuses more input.
  assert.throws(() => d.push(hex(VECTORS[0].hex)), ProtocolError);
  return err as E;
}

Deno.test("bad input: wrong magic", () => {
  const e = expectProtocolError(text("GET / HTTP/1.1\r\n\r\n"), InvalidMagicError);
  assert.equal(e.found, 0x47);
  expectProtocolError(new Uint8Array([0x09]), InvalidMagicError);
});

Deno.test("bad input: oversized length is refused before the bytes arrive", () => {
  const frame = hex(VECTORS[0].hex);
  const view = new DataView(frame.buffer);
  view.setUint32(12, 0xfffffff0);
  const e = expectProtocolError(frame.slice(0, 16), FrameTooLargeError);
  assert.equal(e.length, 0xfffffff0);
  expectProtocolError(hex(VECTORS[0].hex), FrameTooLargeError, { maxMessageLength: 10 });
});

Deno.test("bad input: truncated frame at end of stream", () => {
  const frame = hex(VECTORS[0].hex);
  expectProtocolError(frame.slice(0, 30), TruncatedFrameError);
  expectProtocolError(frame.slice(0, 5), TruncatedFrameError);
});

Deno.test("bad input: lengths that point past the frame", () => {
  const frame = hex(VECTORS[0].hex);
  new DataView(frame.buffer).setUint32(16, 1000); // service path length
  const e = expectProtocolError(frame, MalformedFrameError);
  assert.match(e.message, /service path/);
  const f2 = hex(VECTORS[1].hex);
  new DataView(f2.buffer).setUint32(f2.length - 19, 99); // payload length
  expectProtocolError(f2, MalformedFrameError);
  const f3 = hex(VECTORS[0].hex);
  new DataView(f3.buffer).setUint32(12, 8); // total shorter than the four length fields
  expectProtocolError(f3, MalformedFrameError);
});

Deno.test("bad input: metadata key without value", () => {
  // metadata block of 10 bytes: key length 6 "__AUTH", then nothing
  const body = [
    ...[0, 0, 0, 0],
    ...[0, 0, 0, 0],
    ...[0, 0, 0, 10, 0, 0, 0, 6, ...text("__AUTH")],
    ...[0, 0, 0, 0],
  ];
  const frame = new Uint8Array([
    8,
    0,
    0,
    0x10,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    1,
    0,
    0,
    0,
    body.length,
    ...body,
  ]);
  const e = expectProtocolError(frame, MalformedFrameError);
  assert.match(e.message, /has no value/);
});

Deno.test("bad input: unknown compress type and bad gzip", () => {
  const f = hex(VECTORS[0].hex);
  f[2] = 0x08; // compress type 2
  expectProtocolError(f, MalformedFrameError);
  const g = hex(VECTORS[0].hex);
  g[2] = 0x04; // claims gzip, payload is JSON text
  const e = expectProtocolError(g, DecompressionError);
  assert.match(e.message, /cannot decompress/);
});

Deno.test("bad input: gzip bomb stops at the decompressed limit", () => {
  const bomb = gzipSync(new Uint8Array(50 * 1024 * 1024)); // 50 MiB of zeros, ~50 KiB gzipped
  assert.ok(bomb.length < 100_000);
  const frame = encodeMessage(createMessage({ payload: bomb }));
  frame[2] |= 0x04;
  const e = expectProtocolError(frame, DecompressionError, { maxDecompressedLength: 1 << 20 });
  assert.match(e.message, /exceeds the limit of 1048576/);
});

Deno.test("streaming: a frame whole in a chunk is not copied; a split frame is copied once", () => {
  const frames = [0, 1, 2].map((i) =>
    encodeMessage(
      createMessage({
        servicePath: "Echo",
        serviceMethod: "Bytes",
        seq: BigInt(i),
        payload: text(`payload-${i}`),
      }),
    )
  );
  const chunk = new Uint8Array(frames.reduce((n, f) => n + f.byteLength, 0));
  let o = 0;
  for (const f of frames) (chunk.set(f, o), o += f.byteLength);
  const decoder = new FrameDecoder();
  // The first two frames whole, the third split across two chunks.
  const cut = chunk.byteLength - 5;
  const whole = decoder.push(chunk.subarray(0, cut));
  assert.equal(whole.length, 2);
  let at = 0;
  for (const [i, m] of whole.entries()) {
    // A view of the chunk's memory, at the payload's place in the frame.
    assert.equal(m.payload.buffer, chunk.buffer, `frame ${i}: payload shares the chunk`);
    at += frames[i].byteLength;
    assert.equal(m.payload.byteOffset + m.payload.byteLength, at, `frame ${i}: in place`);
    assert.deepEqual(m.payload, text(`payload-${i}`));
  }
  const rest = chunk.slice(cut); // another buffer, as the next read would be
  const split = decoder.push(rest);
  assert.equal(split.length, 1);
  assert.notEqual(split[0].payload.buffer, chunk.buffer);
  assert.notEqual(split[0].payload.buffer, rest.buffer);
  assert.deepEqual(split[0].payload, text("payload-2"));
});
