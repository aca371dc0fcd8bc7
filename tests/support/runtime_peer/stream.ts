// File transfer and the stream service as tests/support/runtime_peer.ts runs them under Node and
// Bun (from the installed npm package): `data-serve` is our Server with a FileTransfer over a
// directory and an echoing StreamService (what tests/support/stream_files.ts starts on Deno);
// `data-call` is our XClient's sendFile / downloadFile / stream echo (what the Go peer's
// `data-client` does). Portable: "@rpcx/core", "@rpcx/core/stream" and node: built-ins only.
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { FailMode, Peer2PeerDiscovery, SelectMode, Server, XClient } from "@rpcx/core";
import {
  directoryHandlers,
  downloadFile,
  enableFileTransfer,
  enableStreamService,
  FileTransfer,
  sendFile,
  stream,
  StreamService,
} from "@rpcx/core/stream";
import { flag } from "../../../examples/arith.ts";

/**
 * `data-serve --dir D [--downloads-only]`: `_filetransfer` over `directoryHandlers(D)` (with
 * `--downloads-only`: `{ uploads: false }`) and `_streamservice` echoing raw bytes (Go's example:
 * io.Copy(conn, conn)); prints "LISTENING <addr>", closes on SIGTERM.
 * Every data connection that fails is printed to stderr (the test fails on any stderr).
 */
export async function dataServe(args: string[]): Promise<void> {
  const dir = flag(args, "dir", ".");
  const onError = (e: unknown, remote: string) => console.error(`data ${remote}: ${e}`);
  const server = new Server();
  const only = args.includes("--downloads-only") ? { uploads: false } : {};
  const ft = new FileTransfer({ ...directoryHandlers(dir, only), onError });
  const ss = new StreamService({ handler: (c) => c.readable.pipeTo(c.writable), onError });
  await enableFileTransfer(server, ft);
  await enableStreamService(server, ss);
  server.registerOnShutdown(async () => {
    await ft.close();
    await ss.close();
  });
  server.shutdownOnSignals({ timeout: 2000 });
  console.log(`LISTENING ${await server.serve("tcp", "127.0.0.1:0")}`);
}

/** Byte `off` of the echo pattern (the Go peer's: off*7 + off>>11). */
function pattern(off: number): number {
  return (off * 7 + Math.floor(off / 2048)) & 0xff;
}

/**
 * `data-call --addr A --op upload --file F | --op download --name N --out O | --op stream
 * --bytes N`: one transfer through an XClient (Failtry, RandomSelect, Peer2Peer); prints one JSON
 * line {op, bytes, sha256?, ms} and exits 0, or {op, error} and exits 1.
 */
export async function dataCall(args: string[]): Promise<number> {
  const addr = flag(args, "addr", "");
  const op = flag(args, "op", "upload");
  const x = new XClient(
    op === "stream" ? "_streamservice" : "_filetransfer",
    FailMode.Failtry,
    SelectMode.RandomSelect,
    new Peer2PeerDiscovery(`tcp@${addr}`),
  );
  const t0 = performance.now();
  try {
    let out: Record<string, unknown>;
    if (op === "upload") {
      const r = await sendFile(x, flag(args, "file", ""), { meta: { runtime: "js" } });
      out = { bytes: r.bytes };
    } else if (op === "download") {
      const path = flag(args, "out", "");
      const r = await downloadFile(x, flag(args, "name", ""), path);
      const sha = createHash("sha256").update(await readFile(path)).digest("hex");
      out = { bytes: r.bytes, sha256: sha };
    } else if (op === "stream") {
      out = { bytes: await echo(x, Number(flag(args, "bytes", "0"))) };
    } else {
      throw new Error(`unknown --op ${op}`);
    }
    console.log(JSON.stringify({ op, ...out, ms: performance.now() - t0 }));
    return 0;
  } catch (e) {
    console.log(JSON.stringify({ op, error: `${(e as Error)?.name}: ${(e as Error)?.message}` }));
    return 1;
  } finally {
    await x.close();
  }
}

/**
 * Sends `n` pattern bytes on a stream and reads them back from the echo; the count checked (also
 * tests/runtimes_stream_test.ts's Deno side).
 */
export async function echo(x: XClient, n: number): Promise<number> {
  const conn = await stream(x, { kind: "raw" });
  try {
    const sending = (async () => {
      const buf = new Uint8Array(64 * 1024);
      for (let off = 0; off < n;) {
        const k = Math.min(buf.byteLength, n - off);
        for (let i = 0; i < k; i++) buf[i] = pattern(off + i);
        await conn.write(buf.subarray(0, k));
        off += k;
      }
    })();
    const buf = new Uint8Array(64 * 1024);
    let got = 0;
    while (got < n) {
      const k = await conn.read(buf.subarray(0, Math.min(buf.byteLength, n - got)));
      if (k === null) throw new Error(`the echo ended after ${got} of ${n} bytes`);
      for (let i = 0; i < k; i++) {
        if (buf[i] !== pattern(got + i)) throw new Error(`byte ${got + i} differs`);
      }
      got += k;
    }
    await sending;
    return got;
  } finally {
    conn.close();
  }
}
