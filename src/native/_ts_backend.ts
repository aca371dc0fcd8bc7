/**
 * The pure-TypeScript wire codec (the reference every other path must match byte for byte).
 *
 * @module
 */
import { CompressType } from "../protocol/constants.ts";
import { compressPayload, decompressPayload } from "../protocol/compression.ts";
import type { Message } from "../protocol/message.ts";
import { type BatchAlloc, encodeMessages } from "../protocol/encode.ts";
import type { WireCodecBackend, WireImplementation, WireOperation } from "./backend.ts";

/** The TS backend; `fallbackReason` says why the native one was not used. */
export class TsWireCodec implements WireCodecBackend {
  readonly name = "ts" as const;
  readonly implementations: Readonly<Record<WireOperation, WireImplementation>> = Object.freeze({
    encode: "ts",
    gzip: "ts",
    gunzip: "ts",
  });
  readonly gzipNativeBelow = 0;
  readonly fallbackReason?: string;
  constructor(fallbackReason: string | undefined) {
    if (fallbackReason !== undefined) this.fallbackReason = fallbackReason;
  }
  encodeMessages(msgs: readonly Message[], alloc?: BatchAlloc): Uint8Array {
    return encodeMessages(msgs, alloc);
  }
  gzip(data: Uint8Array): Uint8Array {
    return compressPayload(data, CompressType.Gzip);
  }
  gunzip(data: Uint8Array, maxLength: number): Uint8Array {
    return decompressPayload(data, CompressType.Gzip, maxLength);
  }
}

/** The TS backend without a fallback reason. */
export const TS_BACKEND: WireCodecBackend = new TsWireCodec(undefined);
