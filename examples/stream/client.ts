// Go rpcx-examples stream/client: opens a stream with meta foo=bar, writes --lines lines
// ("#i: unix time") --interval ms apart and prints what comes back; then a typed message
// stream (meta kind=messages) against examples/stream/server.ts (skip with --lines-only).
//   deno run -A examples/stream/client.ts --addr localhost:8972 --lines 10 --interval 1000
import { FailMode, Peer2PeerDiscovery, SelectMode, XClient } from "@rpcx/core";
import { openMessageStream, stream } from "@rpcx/core/stream";
import { flag } from "../arith.ts";

const addr = flag(Deno.args, "addr", "localhost:8972");
const lines = Number(flag(Deno.args, "lines", "10"));
const interval = Number(flag(Deno.args, "interval", "1000"));
const linesOnly = Deno.args.includes("--lines-only");

const xclient = new XClient(
  "_streamservice",
  FailMode.Failtry,
  SelectMode.RandomSelect,
  new Peer2PeerDiscovery(`tcp@${addr}`),
);
try {
  // get a connection for streaming
  const conn = await stream(xclient, { foo: "bar" });
  const enc = new TextEncoder();
  let sent = 0;
  let echoed = 0;
  let writing = true;
  let allBack: () => void = () => {};
  const back = new Promise<void>((r) => (allBack = r));
  // Print what comes back (Go's example: io.Copy(os.Stdout, conn) in a goroutine).
  const printing = (async () => {
    const buf = new Uint8Array(4096);
    let n;
    while ((n = await conn.read(buf)) !== null) {
      await Deno.stdout.write(buf.subarray(0, n));
      echoed += n;
      if (!writing && echoed >= sent) allBack();
    }
  })().catch(() => {}); // ends when we close
  for (let i = 0; i < lines; i++) {
    const line = enc.encode(`#${i}: ${Math.floor(Date.now() / 1000)}\n`);
    sent += line.byteLength;
    await conn.write(line);
    if (i + 1 < lines) await new Promise((r) => setTimeout(r, interval));
  }
  writing = false;
  if (echoed >= sent) allBack();
  // No half-close: close once all we sent came back (Go's example closes after its last line).
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([back, new Promise((r) => (timer = setTimeout(r, 5_000)))]);
  clearTimeout(timer);
  conn.close();
  await printing;

  if (!linesOnly) {
    const notes = await openMessageStream<{ text: string }, { text: string; n: number }>(xclient, {
      meta: { kind: "messages" },
      signal: AbortSignal.timeout(10_000),
    });
    const sending = notes.sendAll(["hello", "typed", "streams"].map((text) => ({ text })));
    for await (const note of notes) console.log(`message ${note.n}: ${note.text}`);
    await sending;
  }
} catch (e) {
  console.log(`failed: ${(e as Error).name}: ${(e as Error).message}`);
  Deno.exitCode = 1;
} finally {
  await xclient.close();
}
