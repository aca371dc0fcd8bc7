// Protobuf "with your types" end to end over a socket: protobufjs message types (the shapes of
// rpcx-examples' ProtoArgs/ProtoReply) plugged into slot 2 on both sides of a TCP connection.
import assert from "node:assert/strict";
import protobuf from "protobufjs";
import {
  Client,
  CodecError,
  CodecRegistry,
  protobufCodec,
  SerializeType,
  Server,
  ServiceError,
} from "@rpcx/core";
import { createMessage, type Message } from "@rpcx/core/protocol";

const root = protobuf.parse(`
  syntax = "proto3";
  package example;
  message ProtoArgs { int32 A = 1; int32 B = 2; }
  message ProtoReply { int32 C = 1; }
`).root;
const ProtoArgs = root.lookupType("example.ProtoArgs");
const ProtoReply = root.lookupType("example.ProtoReply");

/** A codec for one message type, as a user writes it with protobufjs. */
function codecOf(type: protobuf.Type) {
  return protobufCodec({
    encode: (v) => {
      const problem = type.verify(v as Record<string, unknown>);
      if (problem) throw new TypeError(problem);
      return type.encode(type.create(v as Record<string, unknown>)).finish();
    },
    decode: (b) => type.toObject(type.decode(b)),
  });
}

/** Requests carry ProtoArgs, replies ProtoReply: each side decodes what it receives. */
function codecs(send: protobuf.Type, receive: protobuf.Type): CodecRegistry {
  const table = new CodecRegistry();
  const out = codecOf(send);
  const into = codecOf(receive);
  table.register(SerializeType.ProtoBuffer, {
    name: "protobuf",
    encode: (v) => out.encode(v),
    decode: (b) => into.decode(b),
  });
  return table;
}

Deno.test("protobuf: a Client and a Server exchange protobufjs messages over TCP", async () => {
  const seenPayloads: Uint8Array[] = [];
  const server = new Server({
    codecs: codecs(ProtoReply, ProtoArgs),
    plugins: [{ postReadRequest: (m: Message) => void seenPayloads.push(m.payload.slice()) }],
  });
  await server.register({
    Mul: (a: { A: number; B: number }) => ({ C: a.A * a.B }),
    Bad: () => ({ C: "not a number" }),
  }, "Arith");
  const addr = await server.serve("tcp", "127.0.0.1:0");
  const client = new Client(addr, {
    serializeType: SerializeType.ProtoBuffer,
    codecs: codecs(ProtoArgs, ProtoReply),
  });
  try {
    assert.deepEqual(await client.call("Arith", "Mul", { A: 10, B: 20 }), { C: 200 });
    assert.deepEqual(await client.call("Arith", "Mul", { A: -3, B: 7 }), { C: -21 });
    // On the wire: protobuf bytes (field 1 varint 10, field 2 varint 20), serialize type 2.
    assert.deepEqual([...seenPayloads[0]], [0x08, 10, 0x10, 20]);

    // The raw reply: serialize type 2, ProtoReply bytes (field 1 varint 200).
    const res = (await client.sendRaw(
      createMessage({
        servicePath: "Arith",
        serviceMethod: "Mul",
        serializeType: SerializeType.ProtoBuffer,
        payload: ProtoArgs.encode({ A: 2, B: 21 }).finish(),
      }),
    ))!;
    assert.equal(res.serializeType, SerializeType.ProtoBuffer);
    assert.deepEqual([...res.payload], [0x08, 42]);

    // A reply the user's encoder rejects becomes an error reply, and the connection serves on.
    await assert.rejects(client.call("Arith", "Bad", { A: 1, B: 1 }), ServiceError);
    // Bytes that are not a ProtoArgs: the server's decoder fails, the call gets an error.
    await assert.rejects(
      client.sendRaw(
        createMessage({
          servicePath: "Arith",
          serviceMethod: "Mul",
          serializeType: SerializeType.ProtoBuffer,
          payload: Uint8Array.of(0x0a, 0xff),
        }),
      ),
      ServiceError,
    );
    assert.deepEqual(await client.call("Arith", "Mul", { A: 6, B: 7 }), { C: 42 });
    // The client's encoder refuses a bad value before anything is sent.
    await assert.rejects(client.call("Arith", "Mul", { A: "x" }), CodecError);
  } finally {
    await client.close();
    await server.close();
  }
});
