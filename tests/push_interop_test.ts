// Server push between Go rpcx and @rpcx/core, both ways: the Go peer (tests/interop/go/push.go,
// `rpcxpeer push-server`: Go's Server.SendMessage) pushes to Deno clients, and a Deno server
// pushes to Go's NewBidirectionalXClient (`rpcxpeer push-client`).
import assert from "node:assert/strict";
import {
  type CallContext,
  Client,
  ClientConnClosedError,
  FailMode,
  Peer2PeerDiscovery,
  SelectMode,
  SerializeType,
  Server,
  type ServerMessage,
  XClient,
} from "@rpcx/core";
import { exited as childExited, runBounded } from "./support/child.ts";
import { bounded, needs, waitFor } from "./support/env.ts";
import { GO_PEER } from "./support/go_peer.ts";
import { codecsWithProtobuf } from "./support/push.ts";
import { receiveGoPushes } from "./support/runtime_peer/push.ts";
import { runExampleClient, startExampleServer } from "./support/examples.ts";

function peerMissing(): string | undefined {
  if (!GO_PEER) return "not built";
  const help = new Deno.Command(GO_PEER, { args: ["help"], stdout: "piped" }).outputSync();
  return new TextDecoder().decode(help.stdout).includes("push-client")
    ? undefined
    : "built without push-server/push-client (rebuild: bash .ci/install/50-gopeer.sh)";
}
/** Decided inside each test (under CI a missing peer fails that test, not the whole file). */
let missing: { why: string | undefined } | undefined;
const havePeer = () =>
  needs("the Go rpcx peer with push subcommands", (missing ??= { why: peerMissing() }).why);

/** A running rpcxpeer subcommand whose stdout is collected line by line. */
interface Peer {
  readonly lines: string[];
  readonly status: Promise<Deno.CommandStatus>;
  /** Waits for a line matching `re`; returns it. */
  line(re: RegExp, ms?: number): Promise<string>;
  kill(signal?: Deno.Signal): Promise<void>;
}

function spawnPeer(args: string[]): Peer {
  const child = new Deno.Command(GO_PEER!, { args, stdout: "piped", stderr: "null" }).spawn();
  const lines: string[] = [];
  const reading = (async () => {
    let rest = "";
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      const parts = (rest + chunk).split("\n");
      rest = parts.pop()!;
      lines.push(...parts);
    }
  })();
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });
  return {
    lines,
    status,
    async line(re, ms = 10_000) {
      let found: string | undefined;
      await waitFor(
        `a line matching ${re} from rpcxpeer ${args[0]}`,
        () => {
          found = lines.find((l) => re.test(l));
          return found !== undefined || exited;
        },
        ms,
        20,
      );
      if (found === undefined) throw new Error(`rpcxpeer ${args[0]} exited: ${lines.join("\n")}`);
      return found;
    },
    async kill(signal = "SIGTERM") {
      if (!exited) {
        try {
          child.kill(signal);
        } catch { /* exited */ }
      }
      await childExited(child, 10_000, `rpcxpeer ${args[0]} to exit on ${signal}`).catch(() => {});
      await bounded(reading, 5000, `rpcxpeer ${args[0]}'s stdout to end`).catch(() => {});
    },
  };
}

async function goPushServer(extra: string[] = []): Promise<{ peer: Peer; addr: string }> {
  const peer = spawnPeer(["push-server", "--addr", "127.0.0.1:0", ...extra]);
  const addr = (await peer.line(/^LISTENING /, 15_000)).split(" ")[1];
  return { peer, addr };
}

const text = (m: ServerMessage) => new TextDecoder().decode(m.data);

Deno.test({
  name: "push interop: Go Server.SendMessage → Deno Client, every serializer, in order",
  async fn() {
    if (!havePeer()) return;
    const { peer, addr } = await goPushServer();
    const client = new Client(`tcp@${addr}`, { codecs: codecsWithProtobuf() });
    try {
      const pushes = client.serverMessages();
      const n = 50;
      for (const serializer of ["none", "json", "msgpack", "protobuf"]) {
        await receiveGoPushes(client, pushes, serializer, n);
      }
      assert.equal(pushes.dropped, 0);
    } finally {
      await client.close();
      await peer.kill();
    }
  },
});

Deno.test({
  name: "push interop: Go's bidirectional example server pushes to many Deno clients and an " +
    "XClient; one leaving does not stop the others",
  async fn() {
    if (!havePeer()) return;
    const { peer, addr } = await goPushServer(["--interval", "100ms"]);
    const clients = Array.from({ length: 10 }, () => new Client(`tcp@${addr}`));
    const xclient = new XClient(
      "Arith",
      FailMode.Failtry,
      SelectMode.RandomSelect,
      new Peer2PeerDiscovery(`tcp@${addr}`),
    );
    try {
      const got = new Map<string, ServerMessage[]>();
      const streams = [...clients.map((c) => c.serverMessages()), xclient.serverMessages()];
      const readers = streams.map(async (s, i) => {
        const list: ServerMessage[] = [];
        got.set(String(i), list);
        for await (const m of s) list.push(m);
      });
      for (const c of clients) {
        assert.deepEqual(await c.call("Arith", "Mul", { A: 10, B: 20 }), {
          C: 200,
        });
      }
      assert.deepEqual(await xclient.call("Mul", { A: 10, B: 20 }), { C: 200 });
      await waitFor(
        "3 pushes on every connection",
        () => [...got.values()].every((l) => l.length >= 3),
        15_000,
      );
      for (const list of got.values()) {
        for (const m of list) {
          assert.equal(m.servicePath, "test_service_path");
          assert.equal(m.serviceMethod, "test_service_method");
          assert.equal(text(m), "abcde");
        }
      }
      // One client leaves: Go's SendMessage to it fails, the rest keep getting pushes.
      await clients[0].close();
      await peer.line(/^PUSH-FAILED /, 10_000);
      const before = [...got.values()].slice(1).map((l) => l.length);
      await waitFor(
        "3 more pushes on every other connection",
        () => [...got.values()].slice(1).every((l, i) => l.length >= before[i] + 3),
        15_000,
      );
      await Promise.all(clients.map((c) => c.close()));
      await xclient.close();
      await bounded(Promise.all(readers), 5000, "streams end on close");
    } finally {
      await Promise.all(clients.map((c) => c.close()));
      await xclient.close();
      await peer.kill();
    }
  },
});

interface GoPushLine {
  servicePath: string;
  serviceMethod: string;
  metadata: Record<string, string> | null;
  serializeType: number;
  oneway: boolean;
  error: boolean;
  payload: string;
  decoded: unknown;
}

/** A Deno server whose Arith.Mul replies, then runs `pushes` against the caller's connection. */
async function denoPushServer(
  pushes: (server: Server, ctx: CallContext) => Promise<void>,
): Promise<{ server: Server; addr: string; done: Promise<unknown>[] }> {
  const server = new Server({ codecs: codecsWithProtobuf() });
  const done: Promise<unknown>[] = [];
  await server.registerFunction("Arith", function Mul(a: { A: number; B: number }, ctx) {
    const p = new Promise((r) => setTimeout(r, 0)).then(() => pushes(server, ctx));
    p.catch(() => {}); // looked at by the test
    done.push(p);
    return { C: a.A * a.B };
  });
  return { server, addr: await server.serve("tcp", "127.0.0.1:0"), done };
}

Deno.test({
  name: "push interop: Deno Server.sendMessage → Go NewBidirectionalXClient, every serializer",
  async fn() {
    if (!havePeer()) return;
    const n = 100;
    const kinds = [
      SerializeType.SerializeNone,
      SerializeType.JSON,
      SerializeType.MsgPack,
      SerializeType.ProtoBuffer,
    ];
    const { server, addr, done } = await denoPushServer(async (server, ctx) => {
      for (let i = 0; i < n; i++) {
        const serializeType = kinds[i % kinds.length];
        const data = serializeType === SerializeType.SerializeNone || serializeType === 2
          ? `deno ${i}`
          : { Text: "deno", I: i };
        await server.sendMessage(ctx.conn, "Deno", `M${serializeType}`, { i: String(i) }, data, {
          serializeType,
        });
      }
    });
    try {
      const r = await runBounded(GO_PEER!, {
        args: ["push-client", "--addr", addr, "--count", String(n), "--timeout", "20s"],
      });
      const out = new TextDecoder().decode(r.stdout);
      assert.equal(r.code, 0, out + new TextDecoder().decode(r.stderr));
      assert.match(out, /^CALLED C=200$/m);
      const lines = out.split("\n").filter((l) => l.startsWith("PUSH ")).map((l) =>
        JSON.parse(l.slice(5)) as GoPushLine
      );
      assert.equal(lines.length, n);
      lines.forEach((l, i) => {
        const serializeType = kinds[i % kinds.length];
        assert.equal(l.servicePath, "Deno");
        assert.equal(l.serviceMethod, `M${serializeType}`);
        assert.deepEqual(l.metadata, { i: String(i) });
        assert.equal(l.serializeType, serializeType);
        assert.equal(l.oneway, true);
        assert.equal(l.error, false);
        if (serializeType === SerializeType.SerializeNone) assert.equal(l.payload, `deno ${i}`);
        else if (serializeType === SerializeType.ProtoBuffer) assert.equal(l.decoded, `deno ${i}`);
        else assert.deepEqual(l.decoded, { Text: "deno", I: i });
      });
      await Promise.all(done);
    } finally {
      await server.close();
    }
  },
});

Deno.test({
  name: "push interop: a Go client killed mid-push fails the Deno push with " +
    "ClientConnClosedError; the server serves on",
  async fn() {
    if (!havePeer()) return;
    let pushed = 0;
    const { server, addr, done } = await denoPushServer(async (server, ctx) => {
      for (let i = 0; i < 1_000_000; i++) {
        await server.sendMessage(ctx.conn, "", "", {}, `n${i}`);
        pushed++;
      }
    });
    const go = spawnPeer(["push-client", "--addr", addr, "--count", "100000", "--timeout", "60s"]);
    const client = new Client(`tcp@${addr}`);
    try {
      await go.line(/^CALLED /);
      await waitFor("50 pushes printed by Go", () => go.lines.length > 50, 10_000, 20);
      await go.kill("SIGKILL");
      const [err] = await bounded(
        Promise.allSettled(done).then((s) => s.map((x) => x.status === "rejected" && x.reason)),
        10_000,
        "the push loop",
      );
      assert.ok(err instanceof ClientConnClosedError, `got ${err}`);
      assert.ok(pushed >= 50);
      await waitFor("connection dropped", () => server.activeClientConn().length === 0, 5000);
      assert.deepEqual(await client.call("Arith", "Mul", { A: 6, B: 7 }), { C: 42 });
    } finally {
      await go.kill("SIGKILL");
      await client.close();
      await server.close();
    }
  },
});

Deno.test("examples/bidirectional: the client prints the server's pushes, once a second", async () => {
  const server = startExampleServer("bidirectional", ["--addr", "127.0.0.1:0"]);
  try {
    const addr = await bounded(server.ready, 30_000, "example server");
    const started = Date.now();
    const r = await runExampleClient("bidirectional", ["--addr", addr, "--count", "2"]);
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(r.out, /^10 \* 20 = 200$/m);
    assert.equal(r.out.match(/^receive msg from server: abcde$/gm)?.length, 2);
    assert.ok(Date.now() - started >= 1000, "pushes come a second apart");
  } finally {
    await server.stop();
  }
});

Deno.test({
  name: "examples/bidirectional with Go: Go's NewBidirectionalXClient gets the Deno example " +
    "server's pushes; the Deno example client gets Go's example server's",
  async fn() {
    if (!havePeer()) return;
    const server = startExampleServer("bidirectional", ["--addr", "127.0.0.1:0"]);
    const { peer, addr: goAddr } = await goPushServer(["--interval", "1s"]);
    try {
      const addr = await bounded(server.ready, 30_000, "example server");
      const go = await runBounded(GO_PEER!, {
        args: ["push-client", "--addr", addr, "--count", "2", "--timeout", "10s"],
      });
      const out = new TextDecoder().decode(go.stdout);
      assert.equal(go.code, 0, out + new TextDecoder().decode(go.stderr));
      const lines = out.split("\n").filter((l) => l.startsWith("PUSH ")).map((l) =>
        JSON.parse(l.slice(5)) as GoPushLine
      );
      assert.equal(lines.length, 2);
      for (const l of lines) {
        assert.equal(l.servicePath, "test_service_path");
        assert.equal(l.serviceMethod, "test_service_method");
        assert.equal(l.payload, "abcde");
      }
      const r = await runExampleClient("bidirectional", ["--addr", goAddr, "--count", "2"]);
      assert.equal(r.code, 0, r.out + r.err);
      assert.match(r.out, /^10 \* 20 = 200$/m);
      assert.equal(r.out.match(/^receive msg from server: abcde$/gm)?.length, 2);
    } finally {
      await server.stop();
      await peer.kill();
    }
  },
});
