/**
 * TS vs native wire codec: the cases shared with `bench/codec_bench.ts`, and (run directly)
 * a bounded in-process timing loop that prints a markdown table of ns/op and native/TS ratios.
 *
 *     deno run -A bench/ratios.ts [--ms=400] [--rounds=5]
 *
 * Needs the native library (`deno task build:native`); without it only the TS column is
 * filled.
 *
 * @module
 */
import {
  compressPayload,
  CompressType,
  createMessage,
  decodeFrame,
  decompressPayload,
  encodeMessages,
  type Message,
  readFrameTotal,
  SerializeType,
} from "@rpcx/core/protocol";
import { loadWireCodec, NativeLibrary, type WireCodecBackend } from "@rpcx/core/native";

/** One benchmark case: the TS reference and, when the library loaded, the native variant. */
export interface CodecCase {
  /** Row name. */
  readonly name: string;
  /** Group for `deno bench`. */
  readonly group: string;
  /** The pure-TS reference. */
  readonly ts: () => unknown;
  /** The native variant, or undefined when it does not exist / the library is missing. */
  readonly native?: () => unknown;
  /** What `loadWireCodec("auto")` does for this case, when the library loaded. */
  readonly auto?: () => unknown;
}

/** Deterministic JSON-ish payload of `n` bytes: compressible like real RPC arguments. */
export function jsonPayload(n: number, seed = 1): Uint8Array {
  let s = seed >>> 0 || 1;
  const rnd = () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
  let text = "[";
  while (text.length < n) {
    text += `{"id":${rnd() % 100000},"name":"user-${(rnd() % 4096).toString(36)}",` +
      `"score":${(rnd() % 1000) / 1000},"tags":["a","b${rnd() % 7}"]},`;
  }
  return new TextEncoder().encode(text.slice(0, n));
}

/** A request carrying `payload`, as a client would send it. */
export function request(payload: Uint8Array, gzip: boolean, seq = 1n): Message {
  return createMessage({
    servicePath: "Arith",
    serviceMethod: "Mul",
    seq,
    serializeType: SerializeType.JSON,
    compressType: gzip ? CompressType.Gzip : CompressType.None,
    metadata: { __AUTH: "token-1234", __ServerTimeout: "5000" },
    payload,
  });
}

/** What the cases run against. */
export interface CodecSetup {
  /** The native library, when it loaded. */
  readonly lib?: NativeLibrary;
  /** All-native backend, when the library loaded. */
  readonly native?: WireCodecBackend;
  /** TS framing + native gzip, when the library loaded. */
  readonly hybrid?: WireCodecBackend;
  /** `loadWireCodec("auto")`, when it picked the library. */
  readonly auto?: WireCodecBackend;
  /** Why the library is missing. */
  readonly missing?: string;
}

/** Loads the native pieces (or says why not). */
export function setup(): CodecSetup {
  try {
    const native = loadWireCodec("native");
    const hybrid = loadWireCodec("native", {
      implementations: { encode: "ts", gzip: "native", gunzip: "native" },
    });
    const path = (Deno.env.get("RPCX_NATIVE_LIB") || undefined) ??
      new URL("../native/target/release/librpcx_native.so", import.meta.url).pathname;
    const auto = loadWireCodec("auto");
    return {
      native,
      hybrid,
      auto: auto.name === "native" ? auto : undefined,
      lib: NativeLibrary.open(path),
    };
  } catch (e) {
    return { missing: (e as Error).message };
  }
}

const SIZES: readonly [string, number][] = [["64B", 64], ["4KiB", 4096], ["1MiB", 1 << 20]];

/** Builds every case. */
export function buildCases(s: CodecSetup): CodecCase[] {
  const cases: CodecCase[] = [];
  // FFI overhead.
  if (s.lib) {
    const lib = s.lib;
    const buf = new Uint8Array(64);
    cases.push({ name: "ffi call: noop()", group: "ffi", ts: () => 0, native: () => lib.noop() });
    cases.push({
      name: "ffi call: touch(buf, len)",
      group: "ffi",
      ts: () => buf.byteLength,
      native: () => lib.touch(buf),
    });
  }
  for (const [label, size] of SIZES) {
    const payload = jsonPayload(size);
    const plain = [request(payload, false)];
    const gz = [request(payload, true)];
    cases.push({
      name: `encode 1 msg ${label}`,
      group: `encode ${label}`,
      ts: () => encodeMessages(plain),
      native: s.native && (() => s.native!.encodeMessages(plain)),
      auto: s.auto && (() => s.auto!.encodeMessages(plain)),
    });
    cases.push({
      name: `encode 1 msg ${label} gzip (native framing)`,
      group: `encode ${label} gzip`,
      ts: () => encodeMessages(gz),
      native: s.native && (() => s.native!.encodeMessages(gz)),
      auto: s.auto && (() => s.auto!.encodeMessages(gz)),
    });
    cases.push({
      name: `encode 1 msg ${label} gzip (TS framing + native gzip)`,
      group: `encode ${label} gzip`,
      ts: () => encodeMessages(gz),
      native: s.hybrid && (() => s.hybrid!.encodeMessages(gz)),
    });
    const frame = encodeMessages(plain);
    cases.push({
      name: `decode 1 msg ${label} (TS only)`,
      group: `decode ${label}`,
      ts: () => decodeFrame(frame),
    });
    const zipped = compressPayload(payload, CompressType.Gzip);
    const limit = 64 * 1024 * 1024;
    cases.push({
      name: `gzip ${label}`,
      group: `gzip ${label}`,
      ts: () => compressPayload(payload, CompressType.Gzip),
      native: s.native && (() => s.native!.gzip(payload)),
      auto: s.auto && (() => s.auto!.gzip(payload)),
    });
    cases.push({
      name: `gunzip ${label}`,
      group: `gunzip ${label}`,
      ts: () => decompressPayload(zipped, CompressType.Gzip, limit),
      native: s.native && (() => s.native!.gunzip(zipped, limit)),
      auto: s.auto && (() => s.auto!.gunzip(zipped, limit)),
    });
  }
  // Batches, as a connection's write queue hands them over.
  const small = jsonPayload(64);
  const batch = Array.from({ length: 64 }, (_, i) => request(small, false, BigInt(i + 1)));
  cases.push({
    name: "batch encode 64 x 64B",
    group: "batch",
    ts: () => encodeMessages(batch),
    native: s.native && (() => s.native!.encodeMessages(batch)),
    auto: s.auto && (() => s.auto!.encodeMessages(batch)),
  });
  const mid = jsonPayload(4096);
  const gzBatch = Array.from({ length: 16 }, (_, i) => request(mid, true, BigInt(i + 1)));
  cases.push({
    name: "batch encode 16 x 4KiB gzip (native framing)",
    group: "batch gzip",
    ts: () => encodeMessages(gzBatch),
    native: s.native && (() => s.native!.encodeMessages(gzBatch)),
    auto: s.auto && (() => s.auto!.encodeMessages(gzBatch)),
  });
  cases.push({
    name: "batch encode 16 x 4KiB gzip (TS framing + native gzip)",
    group: "batch gzip",
    ts: () => encodeMessages(gzBatch),
    native: s.hybrid && (() => s.hybrid!.encodeMessages(gzBatch)),
  });
  // Scanning frame boundaries of a 64-frame chunk.
  const chunk = encodeMessages(batch);
  const scanOut = new Uint8Array(64 * 8);
  cases.push({
    name: "scan 64 frame boundaries in a chunk",
    group: "scan",
    ts: () => {
      let off = 0;
      let n = 0;
      while (off + 16 <= chunk.byteLength) {
        off += 16 + readFrameTotal(chunk, off);
        n++;
      }
      return n;
    },
    native: s.lib && (() => s.lib!.scanFrames(chunk, 16 << 20, scanOut)),
  });
  cases.push({
    name: "decode 64 frames of a chunk (TS only)",
    group: "scan",
    ts: () => {
      let off = 0;
      const out: Message[] = [];
      while (off < chunk.byteLength) {
        const end = off + 16 + readFrameTotal(chunk, off);
        out.push(decodeFrame(chunk.subarray(off, end)));
        off = end;
      }
      return out;
    },
  });
  return cases;
}

let sink: unknown;

/** Warms `fn` up and returns a batch size that takes about 2 ms, so timer cost is negligible. */
function calibrate(fn: () => unknown): number {
  const warmEnd = performance.now() + 30;
  let iters = 1;
  while (performance.now() < warmEnd) {
    for (let i = 0; i < iters; i++) sink = fn();
    iters = Math.min(iters * 2, 1 << 16);
  }
  let batch = 1;
  for (;;) {
    const t0 = performance.now();
    for (let i = 0; i < batch; i++) sink = fn();
    if (performance.now() - t0 >= 2 || batch >= 1 << 24) return batch;
    batch *= 2;
  }
}

/** Runs `fn` in batches for about `ms` milliseconds; returns ns/op. */
function round(fn: () => unknown, batch: number, ms: number): number {
  let total = 0;
  let count = 0;
  const end = performance.now() + ms;
  do {
    const t0 = performance.now();
    for (let i = 0; i < batch; i++) sink = fn();
    total += performance.now() - t0;
    count += batch;
  } while (performance.now() < end);
  return (total * 1e6) / count;
}

/** Times `fn` for about `ms` milliseconds (after a short warm-up); returns ns/op. */
export function timeIt(fn: () => unknown, ms: number): number {
  return round(fn, calibrate(fn), ms);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Medians of a {@linkcode compare} run (ns/op) and the per-round native/TS ratio range. */
export interface Comparison {
  /** TS median. */
  ts: number;
  /** Native median. */
  native?: number;
  /** Auto median. */
  auto?: number;
  /** Lowest per-round native/TS ratio. */
  low?: number;
  /** Highest per-round native/TS ratio. */
  high?: number;
}

/**
 * Times the TS, native and auto variants of a case in `rounds` interleaved rounds (TS, native,
 * auto, TS, …) of `ms / rounds` each, so load from other processes hits all alike.
 */
export function compare(c: CodecCase, ms: number, rounds: number): Comparison {
  const per = ms / rounds;
  const fns = [c.ts, c.native, c.auto];
  const batches = fns.map((f) => (f ? calibrate(f) : 0));
  const times: number[][] = [[], [], []];
  const ratios: number[] = [];
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < 3; k++) {
      const f = fns[k];
      if (f) times[k].push(round(f, batches[k], per));
    }
    if (c.native) ratios.push(times[1][r] / times[0][r]);
  }
  const out: Comparison = { ts: median(times[0]) };
  if (c.native) {
    out.native = median(times[1]);
    out.low = Math.min(...ratios);
    out.high = Math.max(...ratios);
  }
  if (c.auto) out.auto = median(times[2]);
  return out;
}

function fmt(ns: number): string {
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(2)} ms`;
  if (ns >= 1e3) return `${(ns / 1e3).toFixed(2)} µs`;
  return `${ns.toFixed(1)} ns`;
}

if (import.meta.main) {
  const arg = (name: string, fallback: number): number => {
    const a = Deno.args.find((x) => x.startsWith(`--${name}=`));
    return a ? Number(a.slice(name.length + 3)) : fallback;
  };
  const ms = arg("ms", 400);
  const rounds = arg("rounds", 5);
  const s = setup();
  if (s.missing) console.error(`native library not loaded: ${s.missing}`);
  const cases = buildCases(s);
  const lines = [
    `Each case: ${rounds} interleaved rounds, ${ms} ms per variant; medians; ratio = variant/TS ` +
    `(< 1: faster than TS), per-round native/TS range in brackets. FFI rows: TS column is a ` +
    `JS no-op. auto = loadWireCodec("auto").`,
    "",
    "| case | TS | native | native/TS | auto/TS |",
    "|---|---:|---:|---:|---:|",
  ];
  for (const c of cases) {
    const r = compare(c, ms, rounds);
    const ratio = r.native === undefined
      ? "—"
      : `${(r.native / r.ts).toFixed(2)} [${r.low!.toFixed(2)}–${r.high!.toFixed(2)}]`;
    const auto = r.auto === undefined ? "—" : (r.auto / r.ts).toFixed(2);
    const line = `| ${c.name} | ${fmt(r.ts)} | ${r.native === undefined ? "—" : fmt(r.native)} | ` +
      `${ratio} | ${auto} |`;
    lines.push(line);
    console.error(line);
  }
  void sink;
  console.log(lines.join("\n"));
}
