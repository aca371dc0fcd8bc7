// Shared by the push tests: a protobuf codec for the pushes the Go peer sends.
import { CodecRegistry, protobufCodec, SerializeType } from "@rpcx/core";
import type { Codec } from "@rpcx/core/extend";

/** Protobuf `google.protobuf.StringValue` (field 1, a string): what the Go peer pushes too. */
export const stringValue: Codec = protobufCodec({
  encode(v) {
    const s = new TextEncoder().encode(String(v));
    if (s.byteLength > 127) throw new RangeError("test codec: short strings only");
    return Uint8Array.of(0x0a, s.byteLength, ...s);
  },
  decode(b) {
    if (b.byteLength === 0) return "";
    if (b[0] !== 0x0a || b[1] !== b.byteLength - 2) throw new Error("not a short StringValue");
    return new TextDecoder().decode(b.subarray(2));
  },
});

/** A codec table with the StringValue protobuf codec in slot 2. */
export function codecsWithProtobuf(): CodecRegistry {
  const codecs = new CodecRegistry();
  codecs.register(SerializeType.ProtoBuffer, stringValue);
  return codecs;
}
