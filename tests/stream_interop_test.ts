// Go rpcx's file transfer and stream service against ours, both ways, with the real Go peer
// (tests/interop/go/data.go: Go's NewFileTransfer / NewStreamService, XClient.SendFile /
// DownloadFile / Stream, as rpcx-examples' filetransfer, file_download and stream programs).
import assert from "node:assert/strict";
import { SerializeType } from "@rpcx/core";
import {
  directoryHandlers,
  downloadFile,
  type FileTransferArgs,
  type FileTransferHandler,
  openMessageStream,
  sendFile,
  stream,
  StreamNotAcceptedError,
} from "@rpcx/core/stream";
import { bounded, removeAtExit } from "./support/env.ts";
import { needGoPeer } from "./support/go_peer.ts";
import { runGoDataClient, startGoDataServer } from "./support/data_peer.ts";
import {
  listDir,
  makeFile,
  sha256,
  sha256File,
  startTsDataServer,
  xclientFor,
} from "./support/stream_files.ts";

const MiB = 2 ** 20;
const SIZES = [0, 1, 64 * MiB];

/** Source files of each size, made once: name -> { path, sha }. */
const sources = new Map<number, { path: string; name: string; sha: string }>();
let srcDir: string | undefined;
async function source(size: number): Promise<{ path: string; name: string; sha: string }> {
  if (!srcDir) {
    srcDir = await Deno.makeTempDir({ prefix: "rpcx_src_" });
    removeAtExit(srcDir); // also when --filter leaves out the cleanup test
  }
  let s = sources.get(size);
  if (!s) {
    const name = `f${size}.bin`;
    const path = `${srcDir}/${name}`;
    s = { path, name, sha: await makeFile(path, size, size + 7) };
    sources.set(size, s);
  }
  return s;
}

Deno.test("Go's SendFile (MsgPack and JSON) to a Deno server: 0 B, 1 B, 64 MiB stored byte for byte", async () => {
  if (!needGoPeer()) return;
  const seen: FileTransferArgs[] = [];
  const root = await Deno.makeTempDir();
  const dir = directoryHandlers(root);
  // Go's client returns once written: the server's handler says when the file is stored.
  const record: FileTransferHandler = async (conn, args, info) => {
    await dir.handler!(conn, args, info);
    seen.push(args);
  };
  const ts = await startTsDataServer({ handler: record }, {}, root);
  let stored = 0;
  try {
    for (const serializer of ["msgpack", "json"]) {
      for (const size of serializer === "json" ? [0, 1] : SIZES) {
        const src = await source(size);
        const r = await runGoDataClient(ts.addr, [
          "--op",
          "upload",
          "--file",
          src.path,
          "--serializer",
          serializer,
        ]);
        assert.equal(r.code, 0, `${serializer} ${size}: ${r.error} ${r.stderr}`);
        await bounded(
          (async () => {
            while (seen.length === stored) await new Promise((res) => setTimeout(res, 20));
          })(),
          30_000,
          `${src.name} stored`,
        );
        stored++;
        assert.equal(await sha256File(`${root}/${src.name}`), src.sha);
        const args = seen.at(-1)!;
        assert.deepEqual(args, { fileName: src.name, fileSize: size, meta: { foo: "bar" } });
      }
    }
    assert.deepEqual(await listDir(root), ["f0.bin", "f1.bin", `f${64 * MiB}.bin`]);
    assert.deepEqual(ts.errors, []);
  } finally {
    await ts.close();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("sendFile to Go's FileTransfer: 0 B, 1 B, 64 MiB as Go's handler reads them", async () => {
  if (!needGoPeer()) return;
  const dir = await Deno.makeTempDir();
  const go = await startGoDataServer(["--dir", dir]);
  const x = xclientFor("_filetransfer", go.addr);
  try {
    for (
      const [serializeType, sizes] of [[SerializeType.MsgPack, SIZES], [
        SerializeType.JSON,
        [1],
      ]] as const
    ) {
      for (const size of sizes) {
        const src = await source(size);
        const before = go.events.length;
        const r = await bounded(
          sendFile(x, src.path, { meta: { foo: "bar" }, serializeType }),
          60_000,
          "sendFile",
        );
        assert.deepEqual(r, { bytes: size, confirmed: false }); // Go's server never confirms
        const ev = await go.waitEvent((e) =>
          go.events.indexOf(e) >= before && e.event === "upload"
        );
        assert.equal(ev.error, undefined);
        assert.equal(ev.fileName, src.name);
        assert.equal(ev.fileSize ?? 0, size);
        assert.deepEqual(ev.meta, { foo: "bar" });
        assert.equal(ev.bytes, size);
        assert.equal(ev.sha256, src.sha);
      }
    }
  } finally {
    await x.close();
    await go.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Go's DownloadFile from a Deno server: 0 B, 1 B, 64 MiB; .., absolute and missing names refused", async () => {
  if (!needGoPeer()) return;
  const ts = await startTsDataServer();
  try {
    for (const size of SIZES) {
      const src = await source(size);
      await Deno.copyFile(src.path, `${ts.root}/${src.name}`);
      for (const serializer of size === 1 ? ["msgpack", "json"] : ["msgpack"]) {
        const out = `${ts.root}/../go_${src.name}`;
        const r = await runGoDataClient(ts.addr, [
          "--op",
          "download",
          "--name",
          src.name,
          "--out",
          out,
          "--serializer",
          serializer,
        ]);
        assert.equal(r.code, 0, `${r.error} ${r.stderr}`);
        assert.equal(r.bytes, size);
        assert.equal(r.sha256, src.sha);
        await Deno.remove(out);
      }
    }
    for (
      const [name, text] of [
        ["../etc/passwd", 'rpcx: file name not allowed: "../etc/passwd"'],
        ["/etc/passwd", 'rpcx: file name not allowed: "/etc/passwd"'],
        ["a/../../x", 'rpcx: file name not allowed: "a/../../x"'],
        ["nope.bin", 'rpcx: no such file: "nope.bin"'],
      ]
    ) {
      const r = await runGoDataClient(ts.addr, ["--op", "download", "--name", name]);
      assert.equal(r.code, 1);
      assert.equal(r.error, text);
      assert.equal(r.bytes, 0);
    }
    assert.deepEqual(ts.errors, []);
  } finally {
    await ts.close();
  }
});

Deno.test("downloadFile from Go's FileTransfer: 0 B, 1 B, 64 MiB (to a path and to a stream)", async () => {
  if (!needGoPeer()) return;
  const dir = await Deno.makeTempDir();
  const out = await Deno.makeTempDir();
  const go = await startGoDataServer(["--dir", dir]);
  const x = xclientFor("_filetransfer", go.addr);
  try {
    for (const size of SIZES) {
      const src = await source(size);
      await Deno.copyFile(src.path, `${dir}/${src.name}`);
      const r = await bounded(
        downloadFile(x, src.name, `${out}/${src.name}`, { meta: { foo: "bar" } }),
        60_000,
        "downloadFile",
      );
      assert.deepEqual(r, { bytes: size, confirmed: false });
      assert.equal(await sha256File(`${out}/${src.name}`), src.sha);
      const ev = await go.waitEvent((e) => e.event === "download" && e.fileName === src.name);
      assert.deepEqual(ev.meta, { foo: "bar" });
    }
    const chunks: Uint8Array[] = [];
    const r = await downloadFile(
      x,
      "f1.bin",
      new WritableStream({ write: (c) => void chunks.push(c) }),
      {
        serializeType: SerializeType.JSON,
      },
    );
    assert.equal(r.bytes, 1);
    assert.equal(sha256(chunks[0]), (await source(1)).sha);
    assert.deepEqual(await listDir(out), ["f0.bin", "f1.bin", `f${64 * MiB}.bin`]); // no .part left
  } finally {
    await x.close();
    await go.stop();
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(out, { recursive: true });
  }
});

const ECHO_BYTES = 100 * MiB;

/** The byte at `off` of the echo pattern (the Go peer's: off*7 + off>>11). */
function pattern(off: number): number {
  return (off * 7 + Math.floor(off / 2048)) & 0xff;
}

Deno.test("stream echo of 100 MiB: Go's Stream to a Deno echo, and stream() to Go's echo", async () => {
  if (!needGoPeer()) return;
  const ts = await startTsDataServer();
  const go = await startGoDataServer();
  const x = xclientFor("_streamservice", go.addr);
  try {
    const r = await runGoDataClient(ts.addr, ["--op", "stream", "--bytes", String(ECHO_BYTES)]);
    assert.equal(r.code, 0, `${r.error} ${r.stderr}`);
    assert.equal(r.bytes, ECHO_BYTES);
    // Go's stream example: lines, echoed.
    const lines = await runGoDataClient(ts.addr, ["--op", "stream", "--lines", "3"]);
    assert.equal(lines.code, 0, String(lines.error));
    assert.match(lines.text!, /^#0: \d+\n#1: \d+\n#2: \d+\n$/);

    const conn = await stream(x, { foo: "bar" });
    const writing = (async () => {
      const w = conn.writable.getWriter();
      for (let off = 0; off < ECHO_BYTES;) {
        const n = Math.min(256 * 1024, ECHO_BYTES - off);
        const b = new Uint8Array(n);
        for (let i = 0; i < n; i++) b[i] = pattern(off + i);
        await w.write(b);
        off += n;
      }
      w.releaseLock();
    })();
    // No half-close: read back all that was sent, then close (Go's echo then ends).
    let got = 0;
    const reader = conn.readable.getReader();
    while (got < ECHO_BYTES) {
      const { value: chunk, done } = await reader.read();
      if (done) break;
      for (let i = 0; i < chunk.byteLength; i++) {
        if (chunk[i] !== pattern(got + i)) assert.fail(`byte ${got + i} differs`);
      }
      got += chunk.byteLength;
    }
    await writing;
    conn.close();
    assert.equal(got, ECHO_BYTES);
    const ev = await go.waitEvent((e) => e.event === "stream");
    assert.deepEqual(ev.meta, { foo: "bar" });
    assert.equal(ev.bytes, ECHO_BYTES);
  } finally {
    await x.close();
    await go.stop();
    await ts.close();
  }
});

Deno.test("message frames as documented: a Go program speaks them, 100,000 messages each way", async () => {
  if (!needGoPeer()) return;
  const ts = await startTsDataServer();
  const go = await startGoDataServer(["--stream", "double"]);
  const x = xclientFor("_streamservice", go.addr);
  try {
    // Go frames {N} with rpcx's MsgPack codec; our messageStreamHandler echoes them.
    const r = await runGoDataClient(ts.addr, [
      "--op",
      "messages",
      "--count",
      "100000",
      "--meta",
      "kind=messages",
    ]);
    assert.equal(r.code, 0, `${r.error} ${r.stderr}`);
    assert.equal(r.count, 100_000);
    // Our message stream against Go's frame handler, which answers {N: 2N}.
    const ms = await openMessageStream<{ N: number }, { N: number }>(x, {
      signal: AbortSignal.timeout(60_000),
    });
    const sending = ms.sendAll((function* () {
      for (let i = 0; i < 100_000; i++) yield { N: i };
    })());
    let i = 0;
    for await (const m of ms) {
      assert.equal(m.N, 2 * i);
      i++;
    }
    await sending;
    assert.equal(i, 100_000);
  } finally {
    await x.close();
    await go.stop();
    await ts.close();
  }
});

Deno.test("acceptors: Go's refusal is StreamNotAcceptedError here, ours is Go's error text there", async () => {
  if (!needGoPeer()) return;
  const ts = await startTsDataServer({}, { acceptor: (_ctx, args) => !("deny" in args.meta) });
  const go = await startGoDataServer(["--refuse-meta", "deny"]);
  const x = xclientFor("_streamservice", go.addr);
  try {
    const r = await runGoDataClient(ts.addr, [
      "--op",
      "stream",
      "--bytes",
      "10",
      "--meta",
      "deny=1",
    ]);
    assert.equal(r.code, 1);
    assert.equal(r.error, "server refused the connection");
    await assert.rejects(stream(x, { deny: "1" }), StreamNotAcceptedError);
    // Both keep serving.
    const ok = await runGoDataClient(ts.addr, ["--op", "stream", "--bytes", "10"]);
    assert.equal(ok.code, 0, String(ok.error));
    const conn = await stream(x, {});
    await conn.write(Uint8Array.of(1, 2, 3));
    const b = new Uint8Array(3);
    assert.equal(await conn.read(b), 3);
    conn.close();
  } finally {
    await x.close();
    await go.stop();
    await ts.close();
  }
});

Deno.test("rate limits in bytes/s: Go's SendFile to us and ours to Go take what the rate gives", async () => {
  if (!needGoPeer()) return;
  const ts = await startTsDataServer();
  const dir = await Deno.makeTempDir();
  const go = await startGoDataServer(["--dir", dir]);
  const x = xclientFor("_filetransfer", go.addr);
  const path = `${dir}/../rate_${crypto.randomUUID()}.bin`;
  try {
    // 200 KiB at 64 KiB/s: the bucket starts full (64 KiB), the rest needs >= 2.1 s.
    const sha = await makeFile(path, 200 * 1024);
    const rate = 64 * 1024;
    const t0 = performance.now();
    const r = await runGoDataClient(ts.addr, [
      "--op",
      "upload",
      "--file",
      path,
      "--rate",
      String(rate),
    ]);
    assert.equal(r.code, 0, String(r.error));
    assert.ok(r.ms! >= 1_900, `Go took ${r.ms} ms`);
    const t1 = performance.now();
    await sendFile(x, path, { rateLimit: rate });
    const ours = performance.now() - t1;
    assert.ok(ours >= 1_900, `we took ${ours} ms`);
    const ev = await go.waitEvent((e) => e.event === "upload");
    assert.equal(ev.sha256, sha);
    assert.ok(t1 - t0 >= 1_900);
  } finally {
    await x.close();
    await go.stop();
    await ts.close();
    await Deno.remove(path).catch(() => {});
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cleanup: the source files", async () => {
  if (srcDir) await Deno.remove(srcDir, { recursive: true });
});
