// Child of tests/http2_goaway_test.ts: @grpc/grpc-js makes unary calls to a node:http2 server
// answering gRPC, the garbage collector runs, then the server sends GOAWAY (what etcd does when it
// stops or restarts). Prints "survived" and exits 0 unless the runtime crashes. With the argument
// "patched", guardHttp2Sessions() (src/registry/_http2_goaway.ts) is installed first.
// Run with --v8-flags=--expose-gc.
import * as grpc from "@grpc/grpc-js";
import http2 from "node:http2";
import { Buffer } from "node:buffer";
import { guardHttp2Sessions } from "../../src/registry/_http2_goaway.ts";

if (Deno.args[0] === "patched") guardHttp2Sessions();
const server = http2.createServer();
let serverSession: http2.ServerHttp2Session | undefined;
server.on("session", (s) => {
  serverSession = s;
  s.on("error", () => {});
});
server.on("stream", (stream: http2.ServerHttp2Stream) => {
  stream.on("error", () => {});
  stream.on("data", () => {});
  stream.on("end", () => {
    stream.respond({ ":status": 200, "content-type": "application/grpc" }, {
      waitForTrailers: true,
    });
    stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
    stream.end(Buffer.from([0, 0, 0, 0, 0])); // one empty message
  });
});
await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
const id = (b: Buffer) => b;
const Client = grpc.makeGenericClientConstructor({
  Call: {
    path: "/x.Y/Call",
    requestStream: false,
    responseStream: false,
    requestSerialize: id,
    requestDeserialize: id,
    responseSerialize: id,
    responseDeserialize: id,
  },
}, "Y");
const port = (server.address() as { port: number }).port;
const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as {
  Call(req: Buffer, cb: (e: Error | null) => void): void;
  close(): void;
};
for (let i = 0; i < 3; i++) {
  await new Promise<void>((res, rej) => client.Call(Buffer.alloc(0), (e) => e ? rej(e) : res()));
}
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("run with --v8-flags=--expose-gc");
for (let i = 0; i < 3; i++) {
  gc();
  await new Promise((r) => setTimeout(r, 50));
}
serverSession!.goaway(0, 2 ** 31 - 1);
await new Promise((r) => setTimeout(r, 300));
client.close();
server.close();
console.log("survived");
