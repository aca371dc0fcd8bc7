/**
 * The wire codec backed by the native library (`librpcx_native`, see `native/`): batch frame
 * encoding through descriptors and a staging blob, and bomb-safe gzip/gunzip. Operations the
 * caller routes to TS use {@linkcode TS_BACKEND}.
 *
 * @module
 */
import { CompressType } from "../protocol/constants.ts";
import { compressPayload, decompressPayload } from "../protocol/compression.ts";
import { DecompressionError, MalformedFrameError } from "../protocol/errors.ts";
import { HEADER_LENGTH, type Message } from "../protocol/message.ts";
import {
  type BatchAlloc,
  encodeMessages,
  flagsByte,
  type PreparedMessage,
  prepareMessage,
  writeMessage,
} from "../protocol/encode.ts";
import { writeUtf8 } from "../protocol/utf8.ts";
import {
  DESCRIPTOR_WORDS,
  NATIVE_MAX_LENGTH,
  NativeErrorCode,
  type NativeLibrary,
  PAYLOAD_EXTERNAL,
  PAYLOAD_PRECOMPRESSED,
} from "./ffi.ts";
import {
  NativeCodecError,
  type WireCodecBackend,
  type WireImplementation,
  type WireOperation,
} from "./backend.ts";
import { TS_BACKEND } from "./_ts_backend.ts";

/** Gzip level: zlib's default, as node:zlib and Go's gzip.DefaultCompression use. */
const GZIP_LEVEL = 6;
/**
 * Uncompressed payloads of at least this many bytes are not staged in the blob: the library
 * leaves a hole that TS fills, so they are copied once. Smaller ones are cheaper to stage.
 */
const EXTERNAL_PAYLOAD = 1024;
/** Scratch buffers larger than this are not kept between calls. */
const KEEP_SCRATCH = 4 * 1024 * 1024;

/** Same bound as `gzip_bound` in native/src/lib.rs (the library re-checks it). */
function gzipBound(n: number): number {
  return n + ((n + 7) >>> 3) + ((n + 63) >>> 6) + 5 + 18;
}

function putU32(buf: Uint8Array, off: number, v: number): void {
  buf[off] = v >>> 24;
  buf[off + 1] = (v >>> 16) & 0xff;
  buf[off + 2] = (v >>> 8) & 0xff;
  buf[off + 3] = v & 0xff;
}

function limitOf(maxLength: number): number {
  if (!(maxLength > 0)) return 0;
  return Math.min(Math.floor(maxLength), NATIVE_MAX_LENGTH);
}

/** The native backend over an opened library; `impl` routes each operation. */
export class NativeWireCodec implements WireCodecBackend {
  readonly name = "native" as const;
  readonly implementations: Readonly<Record<WireOperation, WireImplementation>>;
  readonly gzipNativeBelow: number;
  readonly #lib: NativeLibrary;
  #desc = new ArrayBuffer(64 * DESCRIPTOR_WORDS * 4);
  #d32 = new Uint32Array(this.#desc);
  #d64 = new BigUint64Array(this.#desc);
  #dBytes = new Uint8Array(this.#desc);
  #blob = new Uint8Array(64 * 1024);
  #scratch = new Uint8Array(64 * 1024);

  constructor(
    lib: NativeLibrary,
    impl: Record<WireOperation, WireImplementation>,
    gzipNativeBelow: number,
  ) {
    this.#lib = lib;
    this.gzipNativeBelow = gzipNativeBelow;
    this.implementations = Object.freeze({ ...impl });
    if (impl.encode === "native") {
      this.encodeMessages = this.#encodeNative;
    } else if (impl.gzip === "native") {
      this.encodeMessages = this.#encodeTsNativeGzip;
    } else {
      this.encodeMessages = encodeMessages;
    }
    // Bound, so `const { gunzip } = codec` works.
    this.gzip = impl.gzip === "ts" ? TS_BACKEND.gzip : this.gzip.bind(this);
    this.gunzip = impl.gunzip === "ts" ? TS_BACKEND.gunzip : this.gunzip.bind(this);
  }

  encodeMessages: (msgs: readonly Message[], alloc?: BatchAlloc) => Uint8Array;

  gzip(data: Uint8Array): Uint8Array {
    const n = data.byteLength;
    if (n === 0) return data;
    if (n >= this.gzipNativeBelow || n > NATIVE_MAX_LENGTH) {
      return compressPayload(data, CompressType.Gzip);
    }
    const bound = gzipBound(n);
    if (bound <= KEEP_SCRATCH) {
      if (this.#scratch.byteLength < bound) {
        this.#scratch = new Uint8Array(Math.max(bound, this.#scratch.byteLength * 2));
      }
      const r = this.#lib.gzipInto(data, this.#scratch, GZIP_LEVEL);
      if (r < 0) throw new NativeCodecError("gzip", r);
      return this.#scratch.slice(0, r);
    }
    const out = new Uint8Array(Math.min(bound, NATIVE_MAX_LENGTH));
    const r = this.#lib.gzipInto(data, out, GZIP_LEVEL);
    if (r < 0) throw new NativeCodecError("gzip", r);
    return out.subarray(0, r);
  }

  gunzip(data: Uint8Array, maxLength: number): Uint8Array {
    const n = data.byteLength;
    if (n === 0) return data;
    if (n > NATIVE_MAX_LENGTH) return decompressPayload(data, CompressType.Gzip, maxLength);
    const limit = limitOf(maxLength);
    // The gzip trailer's ISIZE is a hint (it can lie, and multi-member data sums several): when
    // it is within the limit, decompress into exactly that much; otherwise measure first, with
    // constant memory, so a bomb never allocates more than the limit.
    if (n >= 18) {
      const hint =
        (data[n - 4] | (data[n - 3] << 8) | (data[n - 2] << 16) | (data[n - 1] << 24)) >>>
        0;
      if (hint <= limit) {
        const out = new Uint8Array(hint);
        const r = this.#lib.gunzipInto(data, out);
        if (r >= 0) return r === hint ? out : out.subarray(0, r);
        if (r !== NativeErrorCode.OutputFull) throw gunzipError(r, maxLength);
      }
    }
    const size = this.#lib.gunzipSize(data, limit);
    if (size < 0) throw gunzipError(size, maxLength);
    const out = new Uint8Array(size);
    const r = this.#lib.gunzipInto(data, out);
    if (r < 0) throw gunzipError(r, maxLength);
    return out.subarray(0, r);
  }

  /** TS framing; gzip payloads compressed by the library. */
  #encodeTsNativeGzip = (msgs: readonly Message[], alloc?: BatchAlloc): Uint8Array => {
    let any = false;
    for (let i = 0; i < msgs.length; i++) {
      const m = msgs[i];
      if (m.compressType === CompressType.Gzip && m.payload.byteLength > 0) {
        any = true;
        break;
      }
    }
    if (!any) return encodeMessages(msgs, alloc);
    const prepared = new Array<PreparedMessage>(msgs.length);
    let total = 0;
    for (let i = 0; i < msgs.length; i++) {
      const m = msgs[i];
      let p: PreparedMessage;
      if (m.compressType === CompressType.Gzip && m.payload.byteLength > 0) {
        // Measure as an uncompressed message carrying the gzip bytes, then write with the
        // real message so the header says gzip.
        const asRaw = prepareMessage({
          ...m,
          compressType: CompressType.None,
          payload: this.gzip(m.payload),
        });
        p = { ...asRaw, message: m };
      } else {
        p = prepareMessage(m);
      }
      prepared[i] = p;
      total += p.frameLength;
    }
    const buf = alloc ? alloc(total) : new Uint8Array(total);
    let o = 0;
    for (let i = 0; i < prepared.length; i++) o = writeMessage(prepared[i], buf, o);
    return buf;
  };

  #growBlob(used: number, need: number): Uint8Array<ArrayBuffer> {
    const next = new Uint8Array(Math.max(need, this.#blob.byteLength * 2));
    next.set(this.#blob.subarray(0, used));
    this.#blob = next;
    return next;
  }

  /** Native framing: TS fills a descriptor and a blob, the library assembles the frames. */
  #encodeNative = (msgs: readonly Message[], alloc?: BatchAlloc): Uint8Array => {
    const count = msgs.length;
    if (this.#d32.length < count * DESCRIPTOR_WORDS) {
      this.#desc = new ArrayBuffer(count * DESCRIPTOR_WORDS * 4 * 2);
      this.#d32 = new Uint32Array(this.#desc);
      this.#d64 = new BigUint64Array(this.#desc);
      this.#dBytes = new Uint8Array(this.#desc);
    }
    const d32 = this.#d32;
    const d64 = this.#d64;
    let blob = this.#blob;
    let b = 0;
    let outLength = 0;
    // (message index, payload) pairs of payloads copied by TS into holes after the call.
    let external: (number | Uint8Array)[] | undefined;
    for (let i = 0; i < count; i++) {
      const m = msgs[i];
      const w = i * DESCRIPTOR_WORDS;
      const ct = m.compressType;
      if (ct !== CompressType.None && ct !== CompressType.Gzip) {
        throw new MalformedFrameError(`unknown compress type ${ct}`);
      }
      d64[w >>> 1] = m.seq;
      d32[w + 2] = (m.version & 0xff) | ((flagsByte(m) & 0xff) << 8) |
        (((m.serializeType & 0x0f) << 4) << 16);
      const path = m.servicePath;
      const method = m.serviceMethod;
      if (blob.byteLength - b < 3 * (path.length + method.length)) {
        blob = this.#growBlob(b, b + 3 * (path.length + method.length));
      }
      let n = writeUtf8(path, blob, b);
      d32[w + 3] = n;
      b += n;
      n = writeUtf8(method, blob, b);
      d32[w + 4] = n;
      b += n;
      const metaStart = b;
      const meta = m.metadata;
      for (const key in meta) {
        const value = meta[key];
        if (value === undefined) continue;
        const v = String(value);
        if (blob.byteLength - b < 8 + 3 * (key.length + v.length)) {
          blob = this.#growBlob(b, b + 8 + 3 * (key.length + v.length));
        }
        n = writeUtf8(key, blob, b + 4);
        putU32(blob, b, n);
        b += 4 + n;
        n = writeUtf8(v, blob, b + 4);
        putU32(blob, b, n);
        b += 4 + n;
      }
      const metaLength = b - metaStart;
      d32[w + 5] = metaLength;
      let payload = m.payload;
      let pl = payload.byteLength;
      let gzipHere = ct === CompressType.Gzip && pl > 0;
      let opts = GZIP_LEVEL;
      if (gzipHere && pl >= this.gzipNativeBelow) {
        // Large: gzipped by node:zlib (faster there), then handled as an external payload.
        payload = compressPayload(payload, CompressType.Gzip);
        pl = payload.byteLength;
        gzipHere = false;
        opts = PAYLOAD_EXTERNAL | PAYLOAD_PRECOMPRESSED;
      } else if (pl >= EXTERNAL_PAYLOAD && !gzipHere) {
        // Left as a hole the library reports; copied once, straight into the output.
        opts = PAYLOAD_EXTERNAL;
      }
      d32[w + 6] = pl;
      d32[w + 7] = opts;
      if (opts & PAYLOAD_EXTERNAL) {
        (external ??= []).push(i, payload);
      } else {
        if (blob.byteLength - b < pl) blob = this.#growBlob(b, b + pl);
        blob.set(payload, b);
        b += pl;
      }
      outLength += HEADER_LENGTH + 16 + d32[w + 3] + d32[w + 4] + metaLength +
        (gzipHere ? gzipBound(pl) : pl);
    }
    if (outLength > NATIVE_MAX_LENGTH) {
      // Beyond the native ABI's lengths: the reference encoder handles it.
      if (blob.byteLength > KEEP_SCRATCH) this.#blob = new Uint8Array(64 * 1024);
      return encodeMessages(msgs, alloc);
    }
    const out = alloc ? alloc(outLength) : new Uint8Array(outLength);
    const r = this.#lib.encodeBatch(
      this.#dBytes.subarray(0, count * DESCRIPTOR_WORDS * 4),
      blob.subarray(0, b),
      out,
    );
    if (blob.byteLength > KEEP_SCRATCH) this.#blob = new Uint8Array(64 * 1024);
    if (r < 0) throw new NativeCodecError("encode", r);
    if (external) {
      for (let k = 0; k < external.length; k += 2) {
        const i = external[k] as number;
        out.set(external[k + 1] as Uint8Array, d32[i * DESCRIPTOR_WORDS + 7]);
      }
    }
    return r === outLength ? out : out.subarray(0, r);
  };
}

function gunzipError(code: number, maxLength: number): Error {
  if (code === NativeErrorCode.OutputFull || code === NativeErrorCode.Limit) {
    return new DecompressionError(`decompressed size exceeds the limit of ${maxLength} bytes`);
  }
  if (code === NativeErrorCode.BadData) return new DecompressionError("invalid gzip data");
  return new NativeCodecError("gunzip", code);
}
