// The optional native wire codec (native/, src/native/): identical frames to the TS reference,
// gzip interop both ways, gzip-bomb limits, and the loader's fallbacks.
import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import {
  CompressType,
  createMessage,
  decodeFrame,
  DecompressionError,
  type Message,
  MessageStatusType,
  MessageType,
  SerializeType,
} from "@rpcx/core/protocol";
import {
  loadWireCodec,
  NativeCodecUnavailableError,
  type WireCodecBackend,
} from "@rpcx/core/native";
import { denoScriptJson, runBounded } from "./support/child.ts";
import { findExecutable, needs, REPO_ROOT } from "./support/env.ts";

const enc = new TextEncoder();

function hex(s: string): Uint8Array {
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function toHex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

/** Why the native library cannot be loaded, or undefined when it can. */
function nativeMissing(): string | undefined {
  try {
    loadWireCodec("native");
    return undefined;
  } catch (e) {
    return `${(e as Error).message} — build it with \`deno task build:native\``;
  }
}

const MISSING = nativeMissing();
const NEED = "native library librpcx_native";

/** The backends to compare with the TS reference: every mix of native and TS parts. */
function nativeBackends(): [string, WireCodecBackend][] {
  return [
    ["native", loadWireCodec("native")],
    ["auto", loadWireCodec("auto")],
    // Native framing with payloads from 1 KiB on gzipped by node:zlib (precompressed holes).
    ["native, node gzip from 1KiB", loadWireCodec("native", { gzipNativeBelow: 1024 })],
    [
      "ts-framing+native-gzip",
      loadWireCodec("native", { implementations: { encode: "ts" } }),
    ],
  ];
}

const TS = loadWireCodec("ts");

// ---------------------------------------------------------------------------------------------
// Protocol vectors
// ---------------------------------------------------------------------------------------------

const VECTORS: [string, Message, string][] = [
  [
    "V1",
    createMessage({
      servicePath: "Arith",
      serviceMethod: "Mul",
      seq: 1n,
      serializeType: SerializeType.JSON,
      payload: enc.encode('{"A":10,"B":20}'),
    }),
    "08000010000000000000000100000027000000054172697468000000034d756c000000000000000f7b2241223a31302c2242223a32307d",
  ],
  [
    "V2",
    createMessage({
      servicePath: "Arith",
      serviceMethod: "Mul",
      seq: 2n,
      serializeType: SerializeType.JSON,
      metadata: { __AUTH: "tok" },
      payload: enc.encode('{"A":10,"B":20}'),
    }),
    "08000010000000000000000200000038000000054172697468000000034d756c00000011000000065f5f4155544800000003746f6b0000000f7b2241223a31302c2242223a32307d",
  ],
  [
    "V3",
    createMessage({
      messageType: MessageType.Response,
      servicePath: "Arith",
      serviceMethod: "Mul",
      seq: 1n,
      serializeType: SerializeType.JSON,
      payload: enc.encode('{"C":200}'),
    }),
    "08008010000000000000000100000021000000054172697468000000034d756c00000000000000097b2243223a3230307d",
  ],
  [
    "V4",
    createMessage({ heartbeat: true, seq: 7n, serializeType: SerializeType.MsgPack }),
    "0800403000000000000000070000001000000000000000000000000000000000",
  ],
  [
    "V5",
    createMessage({
      oneway: true,
      servicePath: "Arith",
      serviceMethod: "Add",
      seq: 9n,
      serializeType: SerializeType.MsgPack,
      payload: hex("82a141d30000000000000001a142d30000000000000002"),
    }),
    "0800203000000000000000090000002f00000005417269746800000003416464000000000000001782a141d30000000000000001a142d30000000000000002",
  ],
  [
    "V6",
    createMessage({
      messageType: MessageType.Response,
      status: MessageStatusType.Error,
      servicePath: "Arith",
      serviceMethod: "Div",
      seq: 3n,
      serializeType: SerializeType.JSON,
      metadata: { __rpcx_error__: "rpcx: can't find method Div" },
    }),
    "0800811000000000000000030000004900000005417269746800000003446976000000310000000e5f5f727063785f6572726f725f5f0000001b727063783a2063616e27742066696e64206d6574686f642044697600000000",
  ],
  [
    "V7",
    createMessage({
      servicePath: "Echo",
      serviceMethod: "Bytes",
      seq: 0x0102030405060708n,
      serializeType: SerializeType.SerializeNone,
      payload: hex("00ff"),
    }),
    "0800000001020304050607080000001b000000044563686f000000054279746573000000000000000200ff",
  ],
];

Deno.test("native codec: protocol vectors V1-V7 encode to the same bytes on both paths", () => {
  for (const [name, msg, want] of VECTORS) {
    assert.equal(toHex(TS.encodeMessages([msg])), want, `${name} via TS`);
  }
  if (!needs(NEED, MISSING)) return;
  for (const [label, backend] of nativeBackends()) {
    for (const [name, msg, want] of VECTORS) {
      const got = backend.encodeMessages([msg]);
      assert.equal(toHex(got), want, `${name} via ${label}`);
      const back = decodeFrame(got);
      assert.equal(back.seq, msg.seq);
      assert.deepEqual(back.metadata, msg.metadata);
      assert.deepEqual(back.payload, msg.payload);
    }
    // All seven in one batch: the concatenation.
    const all = VECTORS.map((v) => v[1]);
    assert.equal(toHex(backend.encodeMessages(all)), VECTORS.map((v) => v[2]).join(""), label);
    assert.equal(backend.encodeMessages([]).byteLength, 0);
  }
});

// ---------------------------------------------------------------------------------------------
// Randomized round trip
// ---------------------------------------------------------------------------------------------

/** xorshift32: deterministic test data. */
class Rng {
  #s: number;
  constructor(seed: number) {
    this.#s = seed >>> 0 || 1;
  }
  next(): number {
    let s = this.#s;
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    this.#s = s;
    return s;
  }
  below(n: number): number {
    return this.next() % n;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.below(xs.length)];
  }
  u64(): bigint {
    return (BigInt(this.next()) << 32n) | BigInt(this.next());
  }
}

const PIECES = [
  "Arith",
  "Mul",
  "é",
  "ß",
  "中文",
  "サービス",
  "😀",
  "𝄞",
  "\u0000",
  "a/b",
  "__AUTH",
  "\ud800", // lone surrogate: both paths write U+FFFD
  " ",
  "x".repeat(60),
];

function randomString(rng: Rng): string {
  let s = "";
  const n = rng.below(5);
  for (let i = 0; i < n; i++) s += rng.pick(PIECES);
  return s;
}

function randomPayload(rng: Rng): Uint8Array {
  const r = rng.below(100);
  const size = r < 60
    ? rng.below(257)
    : r < 94
    ? 256 + rng.below(16 * 1024)
    : 16 * 1024 + rng.below(1024 * 1024 - 16 * 1024 + 1);
  const p = new Uint8Array(size);
  if (rng.below(2) === 0) {
    for (let i = 0; i < size; i++) p[i] = rng.next() & 0xff;
  } else {
    const words = enc.encode('{"id":1234,"name":"value","list":[1,2,3]},');
    for (let i = 0; i < size; i++) p[i] = words[(i + (i >> 9)) % words.length];
  }
  return p;
}

function randomMessage(rng: Rng, gzip: boolean): Message {
  const metadata: Record<string, string> = {};
  const pairs = rng.below(5);
  for (let i = 0; i < pairs; i++) metadata[randomString(rng) + i] = randomString(rng);
  return createMessage({
    version: rng.below(256),
    messageType: rng.below(2) as MessageType,
    heartbeat: rng.below(8) === 0,
    oneway: rng.below(4) === 0,
    status: rng.below(2) as MessageStatusType,
    serializeType: rng.below(16),
    compressType: gzip && rng.below(3) > 0 ? CompressType.Gzip : CompressType.None,
    seq: rng.u64(),
    servicePath: randomString(rng),
    serviceMethod: randomString(rng),
    metadata,
    payload: randomPayload(rng),
  });
}

interface RawFrame {
  /** Everything but the payload bytes and the two lengths that depend on them. */
  fixed: Uint8Array;
  wirePayload: Uint8Array;
}

function u32(b: Uint8Array, o: number): number {
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}

/** Splits a batch into frames without decompressing anything. */
function splitFrames(buf: Uint8Array): RawFrame[] {
  const out: RawFrame[] = [];
  let off = 0;
  while (off < buf.byteLength) {
    assert.equal(buf[off], 0x08, "magic");
    const end = off + 16 + u32(buf, off + 12);
    assert.ok(end <= buf.byteLength, "frame fits the batch");
    let o = off + 16;
    for (let f = 0; f < 3; f++) o += 4 + u32(buf, o);
    const pl = u32(buf, o);
    assert.equal(o + 4 + pl, end, "payload length matches the frame");
    const fixed = new Uint8Array(o - off - 4);
    fixed.set(buf.subarray(off, off + 12)); // without `total`
    fixed.set(buf.subarray(off + 16, o), 12);
    out.push({ fixed, wirePayload: buf.subarray(o + 4, end) });
    off = end;
  }
  return out;
}

Deno.test("native codec: randomized batches round-trip identically through both paths", () => {
  if (!needs(NEED, MISSING)) return;
  const rng = new Rng(0xc0ffee);
  const backends = nativeBackends();
  let messages = 0;
  let gzipped = 0;
  const deadline = Date.now() + 60_000;
  for (let round = 0; round < 80 && Date.now() < deadline; round++) {
    const gzip = round % 2 === 1;
    const batch = Array.from({ length: 1 + rng.below(12) }, () => randomMessage(rng, gzip));
    const ref = TS.encodeMessages(batch);
    const refFrames = splitFrames(ref);
    assert.equal(refFrames.length, batch.length);
    for (const [label, backend] of backends) {
      const got = backend.encodeMessages(batch);
      if (!batch.some((m) => m.compressType === CompressType.Gzip && m.payload.byteLength > 0)) {
        assert.deepEqual(got, ref, `round ${round} via ${label}: identical bytes`);
      }
      const frames = splitFrames(got);
      assert.equal(frames.length, batch.length);
      for (let i = 0; i < batch.length; i++) {
        const m = batch[i];
        assert.deepEqual(frames[i].fixed, refFrames[i].fixed, `round ${round} msg ${i} header`);
        if (m.compressType === CompressType.Gzip && m.payload.byteLength > 0) {
          gzipped++;
          const limit = m.payload.byteLength;
          // Each side reads the other's gzip.
          assert.deepEqual(backend.gunzip(refFrames[i].wirePayload, limit), m.payload);
          assert.deepEqual(TS.gunzip(frames[i].wirePayload, limit), m.payload);
          assert.deepEqual(backend.gunzip(frames[i].wirePayload, limit), m.payload);
        } else {
          assert.deepEqual(frames[i].wirePayload, m.payload);
        }
      }
      // The reference decoder reads the native batch back to the same messages.
      let off = 0;
      for (let i = 0; i < batch.length; i++) {
        const end = off + 16 + u32(got, off + 12);
        const back = decodeFrame(got.subarray(off, end));
        const m = batch[i];
        assert.equal(back.seq, m.seq);
        assert.equal(back.version, m.version);
        assert.equal(back.compressType, m.compressType);
        assert.deepEqual(back.payload, m.payload);
        assert.deepEqual(back.metadata, decodeFrame(ref, refOffset(ref, i)).metadata);
        off = end;
      }
      messages += batch.length;
    }
  }
  console.log(`checked ${messages} messages (${gzipped} gzip payloads) against the TS encoder`);
  assert.ok(gzipped > 20);
});

function refOffset(buf: Uint8Array, index: number): number {
  let off = 0;
  for (let i = 0; i < index; i++) off += 16 + u32(buf, off + 12);
  return off;
}

Deno.test("native codec: gzip and gunzip interoperate with node:zlib", () => {
  if (!needs(NEED, MISSING)) return;
  const native = loadWireCodec("native");
  const rng = new Rng(42);
  for (const size of [1, 2, 63, 64, 1000, 4096, 65_536, 300_000, 1 << 20]) {
    const p = new Uint8Array(size);
    for (let i = 0; i < size; i++) p[i] = (i % 97 === 0 ? rng.next() : i * 7) & 0xff;
    const ngz = native.gzip(p);
    const tgz = TS.gzip(p);
    assert.deepEqual(TS.gunzip(ngz, size), p, `TS reads native gzip of ${size}`);
    assert.deepEqual(native.gunzip(tgz, size), p, `native reads TS gzip of ${size}`);
    assert.deepEqual(native.gunzip(ngz, size), p);
    // Maximum compression, as another producer may write it.
    const other = gzipSync(p, { level: 9 });
    assert.deepEqual(native.gunzip(other, size), p);
  }
  // Empty stays empty on both paths.
  assert.equal(native.gzip(new Uint8Array(0)).byteLength, 0);
  assert.equal(native.gunzip(new Uint8Array(0), 0).byteLength, 0);
  assert.equal(TS.gzip(new Uint8Array(0)).byteLength, 0);
  // Concatenated members decode to the concatenation on both paths.
  const a = enc.encode("first ".repeat(100));
  const b = enc.encode("second");
  const cat = new Uint8Array([...native.gzip(a), ...TS.gzip(b)]);
  const both = new Uint8Array([...a, ...b]);
  assert.deepEqual(native.gunzip(cat, both.byteLength), both);
  assert.deepEqual(TS.gunzip(cat, both.byteLength), both);
});

Deno.test("native codec: gzip bombs and bad data raise DecompressionError on both paths", () => {
  const bomb = gzipSync(new Uint8Array(32 * 1024 * 1024), { level: 9 }); // 32 MiB of zeros
  assert.ok(bomb.byteLength < 64 * 1024);
  const liar = new Uint8Array(bomb);
  liar.set([10, 0, 0, 0], liar.byteLength - 4); // ISIZE claims 10 bytes
  const truncated = bomb.subarray(0, bomb.byteLength - 100);
  const garbage = enc.encode("definitely not gzip data, just text");
  const member = gzipSync(new Uint8Array(1024 * 1024), { level: 9 });
  const gigaBomb = new Uint8Array(member.byteLength * 1024);
  for (let i = 0; i < 1024; i++) gigaBomb.set(member, i * member.byteLength);
  assert.ok(gigaBomb.byteLength < 2 * 1024 * 1024);
  const backends: [string, WireCodecBackend][] = [["ts", TS]];
  if (needs(NEED, MISSING)) backends.push(["native", loadWireCodec("native")]);
  for (const [label, backend] of backends) {
    // 1 GiB of zeros in 1 MiB of gzip (1024 members of 1 MiB each, every ISIZE within the
    // limit): a decoder that inflates it whole, or checks the limit per member, takes seconds
    // and a GiB of memory; one that stops at the limit takes milliseconds and stays flat.
    const rss0 = Deno.memoryUsage().rss;
    const t0 = performance.now();
    assert.throws(
      () => backend.gunzip(gigaBomb, 1024 * 1024),
      (e: unknown) => e instanceof DecompressionError && /exceeds the limit/.test(String(e)),
      `${label}: 1 GiB bomb`,
    );
    const ms = performance.now() - t0;
    const grewMiB = (Deno.memoryUsage().rss - rss0) / 2 ** 20;
    assert.ok(ms < 300, `${label}: the 1 GiB bomb stopped after ${ms.toFixed(0)} ms`);
    assert.ok(grewMiB < 128, `${label}: memory grew ${grewMiB.toFixed(0)} MiB on the 1 GiB bomb`);
    for (const [what, data] of [["bomb", bomb], ["bomb with lying ISIZE", liar]] as const) {
      assert.throws(
        () => backend.gunzip(data, 1024 * 1024),
        (e: unknown) => e instanceof DecompressionError && /exceeds the limit/.test(String(e)),
        `${label}: ${what}`,
      );
    }
    // Under a limit above the real size it decodes (exactly at the limit is fine).
    assert.equal(backend.gunzip(bomb, 32 * 1024 * 1024).byteLength, 32 * 1024 * 1024);
    assert.throws(() => backend.gunzip(bomb, 32 * 1024 * 1024 - 1), DecompressionError);
    for (const [what, data] of [["truncated", truncated], ["garbage", garbage]] as const) {
      assert.throws(
        () => backend.gunzip(data, 64 * 1024 * 1024),
        DecompressionError,
        `${label}: ${what}`,
      );
    }
  }
});

// ---------------------------------------------------------------------------------------------
// Loader
// ---------------------------------------------------------------------------------------------

const PROBE = `
import { loadWireCodec } from ${
  JSON.stringify(new URL("../src/native/wire_codec.ts", import.meta.url).href)
};
const auto = loadWireCodec("auto");
let native;
try {
  native = loadWireCodec("native").name;
} catch (e) {
  native = e.constructor.name + ":" + e.reason;
}
console.log(JSON.stringify({ auto: auto.name, reason: auto.fallbackReason ?? null, native }));
`;

async function probe(
  flags: string[],
  env: Record<string, string> = {},
): Promise<{ auto: string; reason: string | null; native: string }> {
  return await denoScriptJson(PROBE, { flags, env });
}

Deno.test("native codec loader: without --allow-ffi auto picks ts, native is a typed error", async () => {
  const r = await probe([]);
  assert.equal(r.auto, "ts");
  assert.match(r.reason ?? "", /--allow-ffi/);
  assert.equal(r.native, "NativeCodecUnavailableError:permission");
  // Env access granted but still no ffi: same.
  const r2 = await probe(["--allow-env"], { RPCX_NATIVE_LIB: "/tmp/whatever.so" });
  assert.equal(r2.auto, "ts");
  assert.equal(r2.native, "NativeCodecUnavailableError:permission");
});

Deno.test("native codec loader: a bogus library path is a typed error, auto falls back", async () => {
  const bogus = "/nonexistent/dir/librpcx_native.so";
  assert.throws(
    () => loadWireCodec("native", { libraryPath: bogus }),
    (e: unknown) =>
      e instanceof NativeCodecUnavailableError && e.reason === "load-failed" && e.path === bogus,
  );
  const auto = loadWireCodec("auto", { libraryPath: bogus });
  assert.equal(auto.name, "ts");
  assert.match(auto.fallbackReason ?? "", /nonexistent/);
  // A file that is not a library.
  assert.throws(
    () => loadWireCodec("native", { libraryPath: `${REPO_ROOT}/deno.json` }),
    NativeCodecUnavailableError,
  );
  // Through RPCX_NATIVE_LIB, in a process with ffi and env access.
  const r = await probe(["--allow-ffi", "--allow-env"], { RPCX_NATIVE_LIB: bogus });
  assert.equal(r.auto, "ts");
  assert.equal(r.native, "NativeCodecUnavailableError:load-failed");
  assert.throws(() => loadWireCodec("bogus" as "auto"), TypeError);
  assert.equal(loadWireCodec("ts").name, "ts");
});

Deno.test("native codec loader: with --allow-ffi auto loads the local build", async () => {
  if (!needs(NEED, MISSING)) return;
  const r = await probe(["--allow-ffi"]);
  assert.equal(r.auto, "native");
  assert.equal(r.reason, null);
  assert.equal(r.native, "native");
  const auto = loadWireCodec("auto");
  assert.equal(auto.name, "native");
  // Per-operation overrides.
  const allTs = loadWireCodec("auto", {
    implementations: { encode: "ts", gzip: "ts", gunzip: "ts" },
  });
  assert.equal(allTs.name, "ts");
  const mixed = loadWireCodec("native", { implementations: { gunzip: "ts" } });
  assert.deepEqual(mixed.implementations, { encode: "native", gzip: "native", gunzip: "ts" });
  // Shared per configuration; methods work detached.
  assert.equal(loadWireCodec("auto"), auto);
  const { gzip, gunzip, encodeMessages } = auto;
  const data = enc.encode("detached ".repeat(20));
  assert.deepEqual(gunzip(gzip(data), data.byteLength), data);
  assert.equal(toHex(encodeMessages([VECTORS[0][1]])), VECTORS[0][2]);
});

Deno.test("native crate: cargo test passes (Rust unit tests of native/)", async () => {
  const cargo = findExecutable("cargo", `${Deno.env.get("HOME") ?? ""}/.cargo/bin/cargo`);
  if (!needs("cargo (Rust toolchain)", cargo ? undefined : "cargo not found on PATH")) return;
  const out = await runBounded(cargo!, {
    args: ["test", "--release", "--locked", "--manifest-path", `${REPO_ROOT}/native/Cargo.toml`],
    timeoutMs: 600_000, // a build from scratch on 2 cores
  });
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  const summary = text.split("\n").find((l) =>
    l.startsWith("test result:") && !/ 0 passed/.test(l)
  );
  console.log(`cargo: ${summary ?? "(no summary)"}`);
  assert.equal(out.code, 0, text.slice(-4000));
  assert.match(summary ?? "", /ok\. \d+ passed; 0 failed/);
});
