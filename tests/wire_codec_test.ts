// The `wireCodec` option end to end over TCP: every pairing of the `ts` and `native` paths
// (and `auto`) interoperates and puts the same bytes on the wire; which implementation each
// operation really used (counted at the native library's entry points); what `auto` picks per
// operation; and a process where the native library is absent or never loaded.
import assert from "node:assert/strict";
import { Client, CompressType, SerializeType, Server, ServiceError } from "@rpcx/core";
import {
  AUTO_GZIP_NATIVE_BELOW,
  AUTO_IMPLEMENTATIONS,
  loadWireCodec,
  NativeLibrary,
  type WireCodecMode,
} from "@rpcx/core/native";
import { denoScriptJson } from "./support/child.ts";
import { bounded, needs, REPO_ROOT } from "./support/env.ts";

/** Why the native library cannot be loaded here, or undefined when it can. */
function nativeMissing(): string | undefined {
  try {
    loadWireCodec("native");
    return undefined;
  } catch (e) {
    return `${(e as Error).message} — build it with \`deno task build:native\``;
  }
}
const NEED = "native library librpcx_native";

// ---------------------------------------------------------------------------------------------
// A recording TCP proxy, and a spy on the native library's entry points.

/** Forwards one port to another and records every byte in each direction. */
class Tap {
  readonly listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  readonly toServer: Uint8Array[] = [];
  readonly toClient: Uint8Array[] = [];
  readonly #conns: Deno.Conn[] = [];
  readonly #pipes: Promise<void>[] = [];
  readonly #accepting: Promise<void>;

  constructor(readonly target: number) {
    this.#accepting = this.#accept();
  }

  get addr(): string {
    return `127.0.0.1:${(this.listener.addr as Deno.NetAddr).port}`;
  }

  async #accept(): Promise<void> {
    try {
      for await (const c of this.listener) {
        const s = await Deno.connect({ hostname: "127.0.0.1", port: this.target });
        this.#conns.push(c, s);
        this.#pipes.push(this.#pipe(c, s, this.toServer), this.#pipe(s, c, this.toClient));
      }
    } catch {
      // listener closed
    }
  }

  async #pipe(from: Deno.Conn, to: Deno.Conn, log: Uint8Array[]): Promise<void> {
    const buf = new Uint8Array(256 * 1024);
    try {
      while (true) {
        const n = await from.read(buf);
        if (n === null) break;
        log.push(buf.slice(0, n));
        for (let o = 0; o < n;) o += await to.write(buf.subarray(o, n));
      }
    } catch {
      // closed
    }
    await Promise.resolve()
      .then(() => to.closeWrite())
      .catch(() => {/* closed */});
  }

  static bytes(parts: Uint8Array[]): Uint8Array {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
    let o = 0;
    for (const p of parts) (out.set(p, o), o += p.byteLength);
    return out;
  }

  #closed = false;

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.listener.close();
    await this.#accepting;
    for (const c of this.#conns) {
      try {
        c.close();
      } catch {
        // closed
      }
    }
    await Promise.all(this.#pipes);
  }
}

/** What the native library was asked to do. */
interface NativeUse {
  /** encodeBatch calls. */
  batches: number;
  /** Gzip messages compressed by the library inside encodeBatch. */
  gzipInFrame: number;
  /** Gzip messages handed to encodeBatch already compressed (node:zlib did it). */
  gzipPrecompressed: number;
  /** gzipInto calls (gzip outside framing). */
  gzip: number;
  /** gunzipInto + gunzipSize calls. */
  gunzip: number;
  /** scanFrames calls (frame decoding). */
  scan: number;
}

/** No call at all. */
const noNativeUse = (): NativeUse => ({
  batches: 0,
  gzipInFrame: 0,
  gzipPrecompressed: 0,
  gzip: 0,
  gunzip: 0,
  scan: 0,
});

const PRECOMPRESSED = 0x200;

/** Counts calls into every NativeLibrary until `restore()`. */
function spyNative(): { use: NativeUse; restore(): void } {
  const use = noNativeUse();
  const proto = NativeLibrary.prototype;
  const saved = {
    encodeBatch: proto.encodeBatch,
    gzipInto: proto.gzipInto,
    gunzipInto: proto.gunzipInto,
    gunzipSize: proto.gunzipSize,
    scanFrames: proto.scanFrames,
  };
  proto.encodeBatch = function (desc, blob, out) {
    use.batches++;
    // 8 u32 words per message: word 2 holds the flag byte (bits 8-15), word 7 the payload
    // options.
    const words = new Uint32Array(desc.buffer, desc.byteOffset, desc.byteLength / 4);
    for (let w = 0; w + 8 <= words.length; w += 8) {
      const gzip = ((words[w + 2] >>> 8) & 0xff) >>> 2 & 0x07;
      if (gzip !== CompressType.Gzip || words[w + 6] === 0) continue;
      if (words[w + 7] & PRECOMPRESSED) use.gzipPrecompressed++;
      else use.gzipInFrame++;
    }
    return saved.encodeBatch.call(this, desc, blob, out);
  };
  proto.gzipInto = function (input, out, level) {
    use.gzip++;
    return saved.gzipInto.call(this, input, out, level);
  };
  proto.gunzipInto = function (input, out) {
    use.gunzip++;
    return saved.gunzipInto.call(this, input, out);
  };
  proto.gunzipSize = function (input, limit) {
    use.gunzip++;
    return saved.gunzipSize.call(this, input, limit);
  };
  proto.scanFrames = function (buf, max, out) {
    use.scan++;
    return saved.scanFrames.call(this, buf, max, out);
  };
  return { use, restore: () => void Object.assign(proto, saved) };
}

// ---------------------------------------------------------------------------------------------
// One fixed conversation, run over every pairing.

const SMALL_GZIP = "small-gzip ".repeat(400); // ~4 KiB: gzip (over 1024), below 32 KiB
const LARGE_GZIP = "large-gzip ".repeat(6000); // ~64 KiB: above auto's 32 KiB split

async function echoServer(wireCodec: WireCodecMode): Promise<Server> {
  const server = new Server({ wireCodec });
  await server.register({
    Text: (s: string) => s,
    Mul: (a: { A: number; B: number }) => ({ C: a.A * a.B }),
    Note: () => {},
    Fail: () => {
      throw new Error("deliberate failure");
    },
  }, "Echo");
  return server;
}

interface Conversation {
  toServer: Uint8Array;
  toClient: Uint8Array;
  use: NativeUse;
}

/** Runs the conversation with a `client`-path Client and a `server`-path Server. */
async function converse(client: WireCodecMode, server: WireCodecMode): Promise<Conversation> {
  const spy = spyNative();
  const s = await echoServer(server);
  let tap: Tap | undefined;
  let c: Client | undefined;
  try {
    const port = Number((await s.serve("tcp", "127.0.0.1:0")).split(":")[1]);
    tap = new Tap(port);
    c = new Client(tap.addr, { serializeType: SerializeType.JSON, wireCodec: client });
    assert.deepEqual(await c.call("Echo", "Mul", { A: 10, B: 20 }), { C: 200 });
    assert.deepEqual(
      await c.call("Echo", "Mul", { A: 3, B: 4 }, { serializeType: SerializeType.MsgPack }),
      { C: 12 },
    );
    const gz = { compressType: CompressType.Gzip };
    assert.equal(await c.call("Echo", "Text", SMALL_GZIP, gz), SMALL_GZIP);
    assert.equal(await c.call("Echo", "Text", LARGE_GZIP, gz), LARGE_GZIP);
    await c.send("Echo", "Note", null);
    assert.ok((await c.heartbeat()) < 5000);
    await assert.rejects(c.call("Echo", "Fail", null), (e) => {
      assert.ok(e instanceof ServiceError);
      assert.equal(e.message, "deliberate failure");
      return true;
    });
    await c.close();
    c = undefined;
    // Every call was answered (and the oneway followed by a heartbeat): the proxy has logged
    // every byte.
    await bounded(tap.close(), 5000, "tap close");
    return { toServer: Tap.bytes(tap.toServer), toClient: Tap.bytes(tap.toClient), use: spy.use };
  } finally {
    spy.restore();
    await c?.close();
    await tap?.close();
    await s.close();
  }
}

Deno.test("wireCodec ts: a ts client and a ts server never call the native library", async () => {
  const r = await converse("ts", "ts");
  assert.deepEqual(r.use, noNativeUse());
  assert.ok(r.toServer.byteLength > LARGE_GZIP.length / 100 && r.toClient.byteLength > 0);
});

Deno.test("wireCodec over TCP: ts, native and auto in every pairing put the same bytes on the wire", async () => {
  if (!needs(NEED, nativeMissing())) return;
  const reference = await converse("ts", "ts");
  const modes: WireCodecMode[] = ["ts", "native", "auto"];
  for (const client of modes) {
    for (const server of modes) {
      if (client === "ts" && server === "ts") continue;
      const r = await converse(client, server);
      const label = `client ${client}, server ${server}`;
      assert.deepEqual(r.toServer, reference.toServer, `${label}: requests`);
      assert.deepEqual(r.toClient, reference.toClient, `${label}: replies`);
      // Some native work happened exactly when one side is not ts.
      assert.ok(r.use.batches > 0, `${label}: native framing used`);
      assert.ok(r.use.gunzip > 0, `${label}: native gunzip used`);
      assert.equal(r.use.scan, 0, `${label}: frames are always decoded in TS`);
    }
  }
});

Deno.test("wireCodec native: the library frames, gzips and gunzips every message of that side", async () => {
  if (!needs(NEED, nativeMissing())) return;
  // Client side only (the server is ts): 7 requests (one oneway, one heartbeat) in 7 batches,
  // both gzip payloads compressed inside the frame, both gzip replies gunzipped.
  const client = await converse("native", "ts");
  assert.equal(client.use.batches, 7);
  assert.equal(client.use.gzipInFrame, 2);
  assert.equal(client.use.gzipPrecompressed, 0);
  assert.ok(client.use.gunzip >= 2);
  // Server side only: 6 replies (no reply to the oneway), 2 of them gzip; 2 gzip requests.
  const server = await converse("ts", "native");
  assert.equal(server.use.batches, 6);
  assert.equal(server.use.gzipInFrame, 2);
  assert.equal(server.use.gzipPrecompressed, 0);
  assert.ok(server.use.gunzip >= 2);
});

Deno.test("wireCodec auto: native framing and gunzip; gzip native below 32 KiB, node:zlib above", async () => {
  // The documented choice, pinned.
  assert.deepEqual(AUTO_IMPLEMENTATIONS, { encode: "native", gzip: "native", gunzip: "native" });
  assert.equal(AUTO_GZIP_NATIVE_BELOW, 32 * 1024);
  if (!needs(NEED, nativeMissing())) return;
  assert.ok(new TextEncoder().encode(JSON.stringify(SMALL_GZIP)).byteLength < 32 * 1024);
  assert.ok(new TextEncoder().encode(JSON.stringify(LARGE_GZIP)).byteLength >= 32 * 1024);
  for (const [client, server] of [["auto", "ts"], ["ts", "auto"]] as const) {
    const r = await converse(client, server);
    const label = `client ${client}, server ${server}`;
    assert.equal(r.use.batches, client === "auto" ? 7 : 6, label);
    // The ~4 KiB payload gzipped by the library in the frame, the ~64 KiB one by node:zlib.
    assert.equal(r.use.gzipInFrame, 1, label);
    assert.equal(r.use.gzipPrecompressed, 1, label);
    assert.ok(r.use.gunzip >= 2, label);
    assert.equal(r.use.scan, 0, `${label}: decoding is TS`);
  }
});

// ---------------------------------------------------------------------------------------------
// Other processes: the library absent, or present and never loaded.

const SCRIPT = `
import { Client, CompressType, Server } from "@rpcx/core";
const mapped = () => Deno.readTextFileSync("/proc/self/maps").includes("librpcx_native");
const out = { mappedAtStart: mapped() };
for (const mode of Deno.args.filter((a) => a !== "try-native")) {
  const server = new Server({ wireCodec: mode });
  await server.register({ Text: (s) => s }, "Echo");
  const addr = await server.serve("tcp", "127.0.0.1:0");
  const client = new Client(addr, { wireCodec: mode });
  const big = "z".repeat(50000);
  out[mode] = (await client.call("Echo", "Text", "hi")) === "hi" &&
    (await client.call("Echo", "Text", big, { compressType: CompressType.Gzip })) === big;
  await client.close();
  await server.close();
  out[mode + "Mapped"] = mapped();
}
if (Deno.args.includes("try-native")) {
  for (const [what, make] of [
    ["server", () => new Server({ wireCodec: "native" })],
    ["client", () => new Client("127.0.0.1:1", { wireCodec: "native" })],
  ]) {
    try {
      make();
      out[what + "Native"] = "no error";
    } catch (e) {
      out[what + "Native"] = { name: e.constructor.name, reason: e.reason, message: e.message };
    }
  }
}
console.log(JSON.stringify(out));
`;

async function runScript(
  modes: string[],
  env: Record<string, string>,
): Promise<Record<string, unknown>> {
  return await denoScriptJson(SCRIPT, {
    // reading /proc/self/maps needs every permission
    flags: ["--no-check", `--config=${REPO_ROOT}/deno.json`, "-A"],
    args: modes,
    env,
  });
}

Deno.test("wireCodec without the native library: native is a clear error, auto and ts fall back", async () => {
  const missing = "/nonexistent/build/librpcx_native.so";
  const r = await runScript(["auto", "ts", "try-native"], { RPCX_NATIVE_LIB: missing });
  for (const what of ["serverNative", "clientNative"]) {
    const e = r[what] as { name: string; reason: string; message: string };
    assert.equal(e.name, "NativeCodecUnavailableError", `${what}: ${JSON.stringify(e)}`);
    assert.equal(e.reason, "load-failed");
    assert.ok(e.message.includes(missing), e.message);
  }
  assert.equal(r.auto, true, "auto serves and calls, gzip included, on the TS path");
  assert.equal(r.ts, true);
  assert.equal(r.autoMapped, false);
  assert.equal(r.tsMapped, false);
});

Deno.test("wireCodec ts never loads the native library; auto loads it", async () => {
  if (!needs(NEED, nativeMissing())) return;
  // The local build is found; ts serves and calls without mapping it, auto maps it.
  const r = await runScript(["ts", "auto"], {});
  assert.equal(r.mappedAtStart, false);
  assert.equal(r.ts, true);
  assert.equal(r.tsMapped, false, "ts mapped the library");
  assert.equal(r.auto, true);
  assert.equal(r.autoMapped, true, "auto did not load the library");
});
