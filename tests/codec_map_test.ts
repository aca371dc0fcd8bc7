// A JS Map and Set through the MsgPack and JSON codecs. Both libraries write an object's own
// enumerable properties, so a Map (and a Set) used to go out as an empty map (0x80, `{}`)
// without an error; and an object's keys are strings, which Go's map[int]T refuses
// (`msgpack: invalid code=a1 decoding int64`). Now a Map goes out with its entries, each key by
// its own type (as Go writes map[int]T), and a Set, WeakMap, Promise... throws a CodecError
// naming the type. Decoding is unchanged: Go's map[int]T arrives with string keys.
import assert from "node:assert/strict";
import { Client, CodecError, SerializeType, Server } from "@rpcx/core";
import { jsonCodec, msgpackCodec } from "@rpcx/core/extend";
import { encodePayload, givePayload, POOLED_PAYLOAD } from "../src/codec/_pooled.ts";

const hex = (s: string) => Uint8Array.from(s.match(/../g)!.map((b) => parseInt(b, 16)));
const text = (b: Uint8Array) => new TextDecoder().decode(b);

// Made by a Go program (go1.26, github.com/smallnest/rpcx v1.9.4 codec.MsgpackCodec{}.Encode,
// i.e. github.com/vmihailenco/msgpack/v5 v5.4.1, and encoding/json's json.Marshal) on
// map[int]string{1: "a", -2: "b"}, in the order Go's (random) map iteration gave it; the same
// program's MsgpackCodec.Decode and json.Unmarshal read GO_MSGPACK and GO_JSON back into
// map[int]string{1: "a", -2: "b"}, and failed on the string-keyed bytes we used to send
// (82a161a161a162a162: "msgpack: invalid code=a1 decoding int64").
const GO_MSGPACK = "8201a161fea162"; // fixmap 2, fixint 1, "a", fixint -2, "b"
const GO_MSGPACK_ONE = "8101a161"; // map[int]string{1: "a"}
const GO_JSON = '{"-2":"b","1":"a"}'; // encoding/json sorts the keys

Deno.test("msgpack: a Map with number keys is written as Go writes map[int]string", () => {
  assert.deepEqual(msgpackCodec.encode(new Map([[1, "a"], [-2, "b"]])), hex(GO_MSGPACK));
  assert.deepEqual(msgpackCodec.encode(new Map([[1, "a"]])), hex(GO_MSGPACK_ONE));
  // Decoding is unchanged: Go's map[int]string arrives as an object with string keys.
  assert.deepEqual(msgpackCodec.decode(hex(GO_MSGPACK)), { "1": "a", "-2": "b" });
});

Deno.test("msgpack: Map entries, nested, string and big keys, 16+ entries, no undefined", () => {
  const rt = (v: unknown) => msgpackCodec.decode(msgpackCodec.encode(v));
  assert.deepEqual(rt({ M: new Map([["x", new Map([[3, [4]]])]]) }), { M: { x: { "3": [4] } } });
  // A number key past 2^32 is written as Go's int64 (0xd3), a bigint key too.
  assert.deepEqual(
    msgpackCodec.encode(new Map<unknown, unknown>([[2 ** 40, 1], [-(2n ** 40n), 2]])),
    hex("82" + "cf0000010000000000" + "01" + "d3ffffff0000000000" + "02"),
  );
  // Undefined values are left out, as in objects (ignoreUndefined).
  assert.deepEqual(msgpackCodec.encode(new Map([[1, undefined], [2, "b"]])), hex("8102a162"));
  const big = new Map(Array.from({ length: 70000 }, (_, i) => [i, i % 7] as const));
  const bytes = msgpackCodec.encode(big);
  assert.deepEqual(bytes.subarray(0, 5), hex("df00011170")); // map 32, 70000 entries
  const back = msgpackCodec.decode(bytes) as Record<string, number>;
  assert.equal(Object.keys(back).length, 70000);
  assert.equal(back["69999"], 69999 % 7);
  assert.deepEqual(
    msgpackCodec.encode(new Map(Array.from({ length: 16 }, (_, i) => [i, 0])))
      .subarray(0, 3),
    hex("de0010"),
  ); // map 16
});

Deno.test("msgpack: the pooled (lent) payload path writes a Map's entries too", () => {
  const m = new Map(Array.from({ length: 2000 }, (_, i) => [i - 1000, `v${i}`] as const));
  const lent = encodePayload(msgpackCodec, { M: m });
  try {
    assert.ok(lent.byteLength >= POOLED_PAYLOAD);
    assert.deepEqual(lent, msgpackCodec.encode({ M: m }));
    const back = msgpackCodec.decode(lent) as { M: Record<string, string> };
    assert.equal(back.M["-1000"], "v0");
    assert.equal(back.M["999"], "v1999");
  } finally {
    givePayload(lent);
  }
  assert.throws(() => encodePayload(msgpackCodec, { S: new Set([1]) }), {
    name: "CodecError",
    message: /msgpack codec cannot encode a Set/,
  });
});

Deno.test("json: a Map is an object of its entries, as Go's encoding/json writes map[int]T", () => {
  // Key order is an object's ("1" first: an array index), which Go's decoder does not mind.
  assert.equal(text(jsonCodec.encode(new Map([[-2, "b"], [1, "a"]]))), '{"1":"a","-2":"b"}');
  assert.deepEqual(
    JSON.parse(text(jsonCodec.encode(new Map([[-2, "b"], [1, "a"]])))),
    JSON.parse(GO_JSON),
  );
  assert.equal(text(jsonCodec.encode(new Map([[-2, "b"]]))), '{"-2":"b"}'); // Go: the same
  assert.equal(
    text(jsonCodec.encode({ M: new Map([["k", new Map([[3, 4]])]]) })),
    '{"M":{"k":{"3":4}}}',
  );
  // With a bigint (the lossless path) and a bigint key.
  assert.equal(
    text(
      jsonCodec.encode({ N: 2n ** 62n, M: new Map<unknown, string>([[7, "y"], [2n ** 62n, "x"]]) }),
    ),
    '{"N":4611686018427387904,"M":{"7":"y","4611686018427387904":"x"}}',
  );
  // A "__proto__" key is an entry, not a prototype.
  assert.equal(text(jsonCodec.encode(new Map([["__proto__", 1]]))), '{"__proto__":1}');
  // Empty objects and "{}" in strings (which take the second pass) are unchanged.
  assert.equal(
    text(jsonCodec.encode({ a: {}, s: "{}", m: new Map() })),
    '{"a":{},"s":"{}","m":{}}',
  );
  assert.deepEqual(jsonCodec.decode(new TextEncoder().encode(GO_JSON)), { "1": "a", "-2": "b" });
  assert.throws(() => jsonCodec.encode(new Map([[true, 1]])), {
    name: "CodecError",
    message: /json codec cannot encode a Map key of type boolean/,
  });
});

Deno.test("a Set, WeakMap, Promise, RegExp or ArrayBuffer is a CodecError, not an empty map", () => {
  const cases: [unknown, string][] = [
    [new Set([1, 2]), "Set"],
    [new WeakMap(), "WeakMap"],
    [new WeakSet(), "WeakSet"],
    [Promise.resolve(1), "Promise"],
    [/a+/, "RegExp"],
    [new ArrayBuffer(4), "ArrayBuffer"],
  ];
  for (const [value, name] of cases) {
    for (const codec of [msgpackCodec, jsonCodec]) {
      for (const v of [value, { A: [value] }]) {
        assert.throws(() => codec.encode(v), (e: unknown) => {
          assert.ok(e instanceof CodecError, `${codec.name} ${name}: ${e}`);
          assert.match(e.message, new RegExp(`^${codec.name} codec cannot encode an? ${name} `));
          return true;
        });
      }
    }
  }
  // Class instances, Dates and null-prototype objects encode as before.
  class Args {
    A = 1;
  }
  assert.deepEqual(msgpackCodec.decode(msgpackCodec.encode(new Args())), { A: 1 });
  assert.equal(text(jsonCodec.encode(Object.assign(Object.create(null), { A: 1 }))), '{"A":1}');
  assert.ok(msgpackCodec.decode(msgpackCodec.encode(new Date(5))) instanceof Date);
});

Deno.test("a Map argument reaches a server with its entries; a Set is refused, both ends", async () => {
  const server = new Server();
  await server.register({
    Echo: (a: unknown) => a,
    Set: () => ({ S: new Set([1]) }),
  }, "Shapes");
  const addr = await server.serve("tcp", "127.0.0.1:0");
  const clients = [SerializeType.MsgPack, SerializeType.JSON].map((serializeType) =>
    new Client(addr, { serializeType })
  );
  try {
    for (const c of clients) {
      assert.deepEqual(await c.call("Shapes", "Echo", { M: new Map([[1, "a"], [-2, "b"]]) }), {
        M: { "1": "a", "-2": "b" },
      });
      await assert.rejects(c.call("Shapes", "Echo", { S: new Set([1]) }), CodecError);
      await assert.rejects(c.call("Shapes", "Set", {}), /cannot encode a Set/);
    }
  } finally {
    for (const c of clients) await c.close();
    await server.close();
  }
});

Deno.test("JSON: a Map whose keys collide as text is refused; `{}` in text or an empty object alone is written once, as JSON.stringify writes it; a Map below a class instance or a toJSON is still found", () => {
  assert.throws(
    () => jsonCodec.encode({ m: new Map<unknown, number>([[1, 5], ["1", 6]]) }),
    (e: Error) => e instanceof CodecError && /keys 1 twice/.test(e.message),
  );
  for (const v of [{ a: {}, s: "x{}y" }, [{}, "{}"], { d: new Date(0), e: {} }]) {
    assert.equal(new TextDecoder().decode(jsonCodec.encode(v)), JSON.stringify(v));
  }
  class Holder {
    m = new Map([["k", 1]]);
  }
  assert.equal(
    new TextDecoder().decode(jsonCodec.encode({ h: new Holder() })),
    '{"h":{"m":{"k":1}}}',
  );
  const viaToJSON = { toJSON: () => ({ m: new Map([["k", 2]]) }) };
  assert.equal(new TextDecoder().decode(jsonCodec.encode(viaToJSON)), '{"m":{"k":2}}');
});
