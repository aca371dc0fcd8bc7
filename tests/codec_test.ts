import assert from "node:assert/strict";
import {
  Client,
  CodecError,
  CodecRegistry,
  protobufCodec,
  SerializeType,
  Server,
  UnsupportedCodecError,
} from "@rpcx/core";
import { type Codec, jsonCodec, msgpackCodec, rawCodec } from "@rpcx/core/extend";

const hex = (s: string) => Uint8Array.from(s.match(/../g)!.map((b) => parseInt(b, 16)));

Deno.test("msgpack: decodes Go's struct with 9-byte int64 fields (vector V5)", () => {
  assert.deepEqual(msgpackCodec.decode(hex("82a141d30000000000000001a142d30000000000000002")), {
    A: 1,
    B: 2,
  });
  // Values past 2^53 stay exact (a bigint); a rounding decoder gives …992 / …552000 here.
  assert.deepEqual(msgpackCodec.decode(hex("82a141d30020000000000001a142cfffffffffffffffff")), {
    A: 9007199254740993n,
    B: 18446744073709551615n,
  });
});

Deno.test("msgpack: int64/uint64 decode to a number exactly up to 2^53 - 1, a bigint past it", () => {
  const cases: [string, number | bigint][] = [
    ["d3001fffffffffffff", 2 ** 53 - 1],
    ["d3ffe0000000000001", -(2 ** 53 - 1)],
    ["d30020000000000000", 9007199254740992n],
    ["d30020000000000001", 9007199254740993n],
    ["d3ffdfffffffffffff", -9007199254740993n],
    ["d37fffffffffffffff", 9223372036854775807n],
    ["d38000000000000000", -9223372036854775808n],
    ["d3ffffffffffffffff", -1],
    ["cf001fffffffffffff", 2 ** 53 - 1],
    ["cf0020000000000001", 9007199254740993n],
    ["cf8000000000000000", 9223372036854775808n],
    ["cfffffffffffffffff", 18446744073709551615n],
    ["cf0000000100000000", 2 ** 32],
  ];
  for (const [bytes, want] of cases) assert.equal(msgpackCodec.decode(hex(bytes)), want, bytes);
  // Inside arrays and maps too, and as a number where it fits (a map key stays usable).
  assert.deepEqual(msgpackCodec.decode(hex("92d30020000000000001d30000000000000007")), [
    9007199254740993n,
    7,
  ]);
});

Deno.test("msgpack: a bigint encodes as int64/uint64; numbers keep their compact forms", () => {
  const enc = (v: unknown) =>
    Array.from(msgpackCodec.encode(v), (b) => b.toString(16).padStart(2, "0")).join("");
  assert.equal(enc(9007199254740993n), "cf0020000000000001");
  assert.equal(enc(18446744073709551615n), "cfffffffffffffffff");
  assert.equal(enc(-9223372036854775808n), "d38000000000000000");
  assert.equal(enc(2n ** 62n + 1n), "cf4000000000000001");
  assert.equal(enc(-5n), "d3fffffffffffffffb");
  // Numbers: as without bigint support (compact ints; uint64/int64 from 2^32; float64 past 2^53).
  assert.equal(enc(10), "0a");
  assert.equal(enc(-5), "fb");
  assert.equal(enc(70000), "ce00011170");
  assert.equal(enc(2 ** 32), "cf0000000100000000");
  assert.equal(enc(-(2 ** 40)), "d3ffffff0000000000");
  assert.equal(enc(2 ** 53 - 1), "cf001fffffffffffff");
  assert.equal(enc(1.5), "cb3ff8000000000000");
  for (const v of [2n ** 62n + 1n, 2n ** 64n - 1n, -(2n ** 63n), { A: 9007199254740993n }]) {
    assert.deepEqual(msgpackCodec.decode(msgpackCodec.encode(v)), v);
  }
  for (const v of [2n ** 64n, -(2n ** 63n) - 1n]) {
    assert.throws(() => msgpackCodec.encode({ A: v }), CodecError, String(v));
  }
  // The encoder is still usable after a refused value.
  assert.equal(enc(1n), "cf0000000000000001");
});

Deno.test("json: integers past 2^53 decode exactly (bigint); others as JSON.parse gives them", () => {
  const dec = (s: string) => jsonCodec.decode(new TextEncoder().encode(s));
  assert.deepEqual(dec('{"ID":9007199254740993}'), { ID: 9007199254740993n });
  assert.deepEqual(dec('{"U":18446744073709551615,"N":-9223372036854775808}'), {
    U: 18446744073709551615n,
    N: -9223372036854775808n,
  });
  assert.deepEqual(dec("[9007199254740991, -9007199254740991]"), [
    9007199254740991,
    -9007199254740991,
  ]);
  // Long digit runs that are not unsafe integers: exactly what JSON.parse gives.
  for (
    const text of [
      '{"f":0.12345678901234567890,"s":"12345678901234567890","e":1234567890123456789e-3}',
      '{"x":1234567890123456,"y":-0,"z":[1e300, 0.5]}',
      '{"big":123456789012345678901234567890.5,"n":[1,2],"neg":-1234567890123456.25}',
    ]
  ) assert.deepEqual(dec(text), JSON.parse(text), text);
  // Duplicate keys: the last wins, as in JSON.parse and Go, on the lossless path too.
  assert.deepEqual(dec('{"a":1,"a":9007199254740993}'), { a: 9007199254740993n });
  assert.throws(() => dec('{"a":9007199254740993'), CodecError);
  assert.throws(() => dec('{"a":9007199254740993,}'), CodecError);
  // Invalid UTF-8 inside a string becomes U+FFFD, as Go's encoding/json reads it.
  assert.deepEqual(jsonCodec.decode(Uint8Array.of(0x22, 0x61, 0xff, 0x62, 0x22)), "a\ufffdb");
  // bigint encodes as its digits.
  const enc = (v: unknown) => new TextDecoder().decode(jsonCodec.encode(v));
  assert.equal(
    enc({ ID: 9007199254740993n, U: 2n ** 64n - 1n }),
    '{"ID":9007199254740993,"U":18446744073709551615}',
  );
  assert.equal(
    enc([1n, { d: new Date(0) }, undefined]),
    '[1,{"d":"1970-01-01T00:00:00.000Z"},null]',
  );
  assert.deepEqual(dec(enc({ ID: 2n ** 62n + 1n })), { ID: 2n ** 62n + 1n });
});

Deno.test("bigint arguments and replies travel exactly between a Deno client and server", async () => {
  const server = new Server();
  await server.register({ Inc: (a: { N: bigint | number }) => ({ N: BigInt(a.N) + 1n }) }, "Wide");
  const addr = await server.serve("tcp", "127.0.0.1:0");
  const clients = [SerializeType.MsgPack, SerializeType.JSON].map((serializeType) =>
    new Client(addr, { serializeType })
  );
  try {
    for (const c of clients) {
      assert.deepEqual(await c.call("Wide", "Inc", { N: 9007199254740992n }), {
        N: 9007199254740993n,
      });
      assert.deepEqual(await c.call("Wide", "Inc", { N: 2n ** 64n - 2n }), {
        N: 18446744073709551615n,
      });
      assert.deepEqual(await c.call("Wide", "Inc", { N: 41 }), { N: 42 });
    }
  } finally {
    for (const c of clients) await c.close();
    await server.close();
  }
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

Deno.test("msgpack: long strings take the shortest str header, multi-byte text included", () => {
  const cases: [string, number, number][] = [
    // text, header byte, header length
    ["a".repeat(31), 0xbf, 1],
    ["a".repeat(64), 0xd9, 2],
    ["a".repeat(255), 0xd9, 2],
    ["a".repeat(256), 0xda, 3],
    ["é".repeat(100), 0xd9, 2], // 200 bytes
    ["é".repeat(128), 0xda, 3], // 256 bytes
    ["€".repeat(21845), 0xda, 3], // 65535 bytes
    ["€".repeat(21846), 0xdb, 5], // 65538 bytes
    ["😀".repeat(40), 0xd9, 2], // 160 bytes
    ["s".repeat(70000), 0xdb, 5],
  ];
  for (const [text, head, headerLength] of cases) {
    const bytes = msgpackCodec.encode(text);
    const length = new TextEncoder().encode(text).byteLength;
    assert.equal(bytes[0], head, `${text.length} units`);
    assert.equal(bytes.byteLength, headerLength + length);
    assert.equal(msgpackCodec.decode(bytes), text);
  }
  // Inside a struct, next to other fields.
  const v = { A: 1, S: "x".repeat(16384), T: "ü".repeat(70), B: [true, "y".repeat(100)] };
  assert.deepEqual(msgpackCodec.decode(msgpackCodec.encode(v)), v);
});
