// deno bench: pure-TS encode/decode of rpcx frames (the reference path).
import { msgpackCodec } from "@rpcx/core/extend";
import { createMessage, decodeFrame, encodeMessage, FrameDecoder } from "@rpcx/core/protocol";

const small = createMessage({
  servicePath: "Arith",
  serviceMethod: "Mul",
  seq: 1n,
  serializeType: 3,
  metadata: { __ServerTimeout: "5000" },
  payload: msgpackCodec.encode({ A: 10, B: 20 }),
});
const smallFrame = encodeMessage(small);
const batch = encodeMessage(createMessage({ ...small, payload: new Uint8Array(4096) }));
const stream = new Uint8Array(smallFrame.length * 64);
for (let i = 0; i < 64; i++) stream.set(smallFrame, i * smallFrame.length);

Deno.bench("encode small request", { group: "encode", baseline: true }, () => {
  encodeMessage(small);
});
Deno.bench("encode 4 KiB request", { group: "encode" }, () => {
  encodeMessage(createMessage({ ...small, payload: new Uint8Array(4096) }));
});
Deno.bench("decode small frame", { group: "decode", baseline: true }, () => {
  decodeFrame(smallFrame);
});
Deno.bench("decode 4 KiB frame", { group: "decode" }, () => {
  decodeFrame(batch);
});
Deno.bench("stream-decode 64 small frames in one chunk", { group: "stream" }, () => {
  new FrameDecoder().push(stream);
});
Deno.bench("msgpack encode+decode {A,B}", { group: "codec" }, () => {
  msgpackCodec.decode(msgpackCodec.encode({ A: 10, B: 20 }));
});
