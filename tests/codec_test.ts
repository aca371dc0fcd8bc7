import assert from "node:assert/strict";
import {
  Client,
  type Codec,
  CodecError,
  CodecRegistry,
  jsonCodec,
  msgpackCodec,
  protobufCodec,
  rawCodec,
  SerializeType,
  Server,
  UnsupportedCodecError,
} from "@rpcx/core";

const hex = (s: string) => Uint8Array.from(s.match(/../g)!.map((b) => parseInt(b, 16)));

Deno.test("msgpack: decodes Go's struct with 9-byte int64 fields (vector V5)", () => {
  assert.deepEqual(msgpackCodec.decode(hex("82a141d30000000000000001a142d30000000000000002")), {
    A: 1,
    B: 2,
  });
});

Deno.test("msgpack: writes a map keyed by field name with compact ints", () => {
  const bytes = msgpackCodec.encode({ A: 10, B: 20 });
  // fixmap(2) "A" 10 "B" 20 — Go's msgpack decodes compact ints into int fields.
  assert.deepEqual(Array.from(bytes), [0x82, 0xa1, 0x41, 10, 0xa1, 0x42, 20]);
  assert.deepEqual(msgpackCodec.decode(bytes), { A: 10, B: 20 });
  assert.deepEqual(msgpackCodec.decode(msgpackCodec.encode({ D: new Uint8Array([1, 2]) })), {
    D: new Uint8Array([1, 2]),
  });
});

Deno.test("json and raw codecs", () => {
  assert.deepEqual(jsonCodec.decode(jsonCodec.encode({ C: 200 })), { C: 200 });
  assert.equal(new TextDecoder().decode(jsonCodec.encode({ A: 1 })), '{"A":1}');
  assert.equal(jsonCodec.decode(new Uint8Array()), null);
  assert.throws(() => jsonCodec.decode(new TextEncoder().encode("{nope")), CodecError);
  assert.throws(() => msgpackCodec.decode(new Uint8Array([0xc1])), CodecError);
  const b = new Uint8Array([0, 255]);
  assert.equal(rawCodec.encode(b), b);
  assert.deepEqual(rawCodec.encode("hi"), new Uint8Array([104, 105]));
  assert.throws(() => rawCodec.encode({}), CodecError);
});

Deno.test("registry: built-ins, unknown ids, custom and protobuf slots", () => {
  const r = new CodecRegistry();
  assert.equal(r.get(SerializeType.JSON), jsonCodec);
  assert.equal(r.get(SerializeType.MsgPack), msgpackCodec);
  assert.throws(() => r.get(SerializeType.Thrift), UnsupportedCodecError);
  assert.throws(() => r.register(16, jsonCodec), RangeError);
  const pb = protobufCodec({
    encode: (v) => new TextEncoder().encode(`pb:${(v as { n: number }).n}`),
    decode: (b) => ({ n: Number(new TextDecoder().decode(b).slice(3)) }),
  });
  r.register(SerializeType.ProtoBuffer, pb);
  assert.deepEqual(r.get(2).decode(r.get(2).encode({ n: 7 })), { n: 7 });
});

Deno.test("a custom codec id travels end to end; an unregistered id is an error reply", async () => {
  const upper: Codec = {
    name: "upper",
    encode: (v) => new TextEncoder().encode(String(v).toUpperCase()),
    decode: (b) => new TextDecoder().decode(b),
  };
  const codecs = new CodecRegistry({ 9: upper });
  const server = new Server({ codecs });
  await server.register({ Echo: (s: string) => `${s}!` }, "Str");
  const addr = await server.serve("tcp", "127.0.0.1:0");
  const client = new Client(addr, { codecs, serializeType: 9 });
  try {
    assert.equal(await client.call("Str", "Echo", "abc"), "ABC!");
    const plain = new Client(addr, { codecs: new CodecRegistry({ 10: upper }), serializeType: 10 });
    await assert.rejects(plain.call("Str", "Echo", "x"), /can not find codec for 10/);
    await plain.close();
  } finally {
    await client.close();
    await server.close();
  }
});
