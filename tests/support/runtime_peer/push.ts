// Server push as tests/support/runtime_peer.ts runs it under Node and Bun (from the installed npm
// package), against the Go peer's push subcommands (tests/interop/go/push.go): `push-call` is our
// Client receiving what Go's Server.SendMessage pushes (`rpcxpeer push-server`), `push-serve` is
// our Server.sendMessage pushing to Go's NewBidirectionalXClient (`rpcxpeer push-client`).
import assert from "node:assert/strict";
import { Client, SerializeType, Server, type ServerMessage } from "@rpcx/core";
import { flag } from "../../../examples/arith.ts";
import { codecsWithProtobuf } from "../push.ts";
import { within } from "./checklist.ts";

/** The serializers pushed, in order: none, JSON, MsgPack, protobuf (StringValue). */
const KINDS = [
  SerializeType.SerializeNone,
  SerializeType.JSON,
  SerializeType.MsgPack,
  SerializeType.ProtoBuffer,
] as const;

/**
 * Asks Go's push server (`Push.Send`, on `client`'s connection) for `n` pushes in `serializer`
 * and checks each one that `pushes` (the client's serverMessages()) yields, in order (10 s
 * each at most): service path `Push`, method `Msg`, metadata `{i, serializer}`, oneway, the
 * payload decoded (`go <i>` or `{Text: "go", I: i}`). Also tests/push_interop_test.ts's.
 */
export async function receiveGoPushes(
  client: Client,
  pushes: AsyncIterator<ServerMessage>,
  serializer: string,
  n: number,
): Promise<void> {
  assert.deepEqual(
    await client.call("Push", "Send", { Serializer: serializer, Count: n, Text: "go" }),
    { Count: n },
  );
  for (let i = 0; i < n; i++) {
    const m = (await within(pushes.next(), 10_000, `${serializer} push ${i}`))
      .value as ServerMessage;
    assert.equal(m.servicePath, "Push");
    assert.equal(m.serviceMethod, "Msg");
    assert.deepEqual({ ...m.metadata }, { i: String(i), serializer });
    assert.equal(m.message.oneway, true);
    assert.equal(m.decodeError, undefined);
    if (serializer === "none") {
      assert.equal(m.serializeType, SerializeType.SerializeNone);
      assert.equal(new TextDecoder().decode(m.data), `go ${i}`);
    } else if (serializer === "protobuf") {
      assert.equal(m.serializeType, SerializeType.ProtoBuffer);
      assert.equal(m.payload, `go ${i}`);
    } else {
      const want = serializer === "json" ? SerializeType.JSON : SerializeType.MsgPack;
      assert.equal(m.serializeType, want);
      assert.deepEqual(m.payload, { Text: "go", I: i });
    }
  }
}

/**
 * `push-call --addr A [--count N]`: our Client asks Go's push server (`Push.Send`) for N pushes in
 * each serializer and checks every one, in order: service path `Push`, method `Msg`, metadata
 * `{i, serializer}`, oneway, the payload decoded. Prints `OK <serializer>` for each and `PASS`;
 * `FAIL <serializer>: <error>` and exit 1 at the first failure.
 */
export async function pushCall(args: string[]): Promise<number> {
  const addr = flag(args, "addr", "");
  const n = Number(flag(args, "count", "50"));
  const client = new Client(`tcp@${addr}`, { codecs: codecsWithProtobuf() });
  const pushes = client.serverMessages();
  try {
    for (const serializer of ["none", "json", "msgpack", "protobuf"]) {
      try {
        await receiveGoPushes(client, pushes, serializer, n);
        console.log(`OK ${serializer}`);
      } catch (e) {
        console.log(`FAIL ${serializer}: ${(e as Error)?.stack ?? e}`);
        return 1;
      }
    }
    assert.equal(pushes.dropped, 0, "pushes dropped");
    console.log("PASS");
    return 0;
  } finally {
    await client.close();
  }
}

/**
 * `push-serve [--count N]`: serves `Arith.Mul` on tcp; after each reply it pushes N messages to
 * the caller's connection with Server.sendMessage, cycling through {@link KINDS}: service path
 * `Node`, method `M<serializeType>`, metadata `{i}`, payload `node <i>` (none, protobuf) or
 * `{Text: "node", I: i}`. Prints `LISTENING <address>`; `PUSHED <n>` once a caller got all, or
 * `PUSH-FAILED <class>: <message>`. Shuts down and exits on SIGTERM.
 */
export async function pushServe(args: string[]): Promise<void> {
  const n = Number(flag(args, "count", "100"));
  const server = new Server({ codecs: codecsWithProtobuf() });
  await server.registerFunction("Arith", function Mul(a: { A: number; B: number }, ctx) {
    // After this reply is written: a push never overtakes the reply it follows.
    setTimeout(async () => {
      try {
        for (let i = 0; i < n; i++) {
          const serializeType = KINDS[i % KINDS.length];
          const data = serializeType === SerializeType.SerializeNone ||
              serializeType === SerializeType.ProtoBuffer
            ? `node ${i}`
            : { Text: "node", I: i };
          await server.sendMessage(ctx.conn, "Node", `M${serializeType}`, { i: String(i) }, data, {
            serializeType,
          });
        }
        console.log(`PUSHED ${n}`);
      } catch (e) {
        console.log(`PUSH-FAILED ${(e as Error).constructor.name}: ${(e as Error).message}`);
      }
    }, 0);
    return { C: a.A * a.B };
  });
  server.shutdownOnSignals({ timeout: 2000 });
  console.log(`LISTENING ${await server.serve("tcp", flag(args, "addr", "127.0.0.1:0"))}`);
}
