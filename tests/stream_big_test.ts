// A file over 2^32 bytes (sparse: made with truncate, a few bytes written at chosen offsets)
// each way with the Go peer, streamed without being held: size and the bytes at the offsets
// around 2^31 and 2^32 checked at the other end. Separate from the other stream tests for its
// time (four transfers of 4 GiB on loopback; see the README for a run's figures).
import assert from "node:assert/strict";
import {
  downloadFile,
  type FileTransferHandler,
  sendFile,
  TransferIncompleteError,
} from "@rpcx/core/stream";
import { bounded } from "./support/env.ts";
import { needGoPeer } from "./support/go_peer.ts";
import { runGoDataClient, startGoDataServer } from "./support/data_peer.ts";
import { startTsDataServer, xclientFor } from "./support/stream_files.ts";

const SIZE = 2 ** 32 + 2 ** 20 + 3;
/** Offset -> byte written there (every other byte of the file is 0). */
const SAMPLES = new Map<number, number>([
  [0, 0x11],
  [2 ** 31 - 1, 0x22],
  [2 ** 31, 0x33],
  [2 ** 32 - 1, 0x44],
  [2 ** 32, 0x55],
  [2 ** 32 + 1, 0x66],
  [SIZE - 1, 0x77],
]);
const OFFSETS = [...SAMPLES.keys(), 12345].join(",");
const EXPECTED = Object.fromEntries([
  ...[...SAMPLES].map(([o, b]) => [String(o), b]),
  ["12345", 0],
]);

async function sparseFile(path: string): Promise<void> {
  const f = await Deno.open(path, { write: true, create: true, truncate: true });
  try {
    await f.truncate(SIZE);
    for (const [off, b] of SAMPLES) {
      await f.seek(off, Deno.SeekMode.Start);
      await f.write(Uint8Array.of(b));
    }
  } finally {
    f.close();
  }
}

/** Counts bytes and records the bytes at the sample offsets. */
class Sampler {
  bytes = 0;
  got: Record<string, number> = {};
  readonly #offsets = [...SAMPLES.keys(), 12345];
  nonZero = 0;
  add(chunk: Uint8Array): void {
    for (const o of this.#offsets) {
      if (o >= this.bytes && o < this.bytes + chunk.byteLength) this.got[o] = chunk[o - this.bytes];
    }
    // Every byte but the samples is zero: count the others cheaply on a stride.
    for (let i = 0; i < chunk.byteLength; i += 4096) if (chunk[i] !== 0) this.nonZero++;
    this.bytes += chunk.byteLength;
  }
}

function rssMiB(): number {
  return Deno.memoryUsage().rss / 2 ** 20;
}

Deno.test(`over 2^32 bytes (${SIZE}), sparse, each way with Go, streamed`, async () => {
  if (!needGoPeer()) return;
  const dir = await Deno.makeTempDir({ prefix: "rpcx_big_" });
  const path = `${dir}/big.bin`;
  await sparseFile(path);
  const rss0 = rssMiB();
  let rssMax = rss0;
  const watch = setInterval(() => (rssMax = Math.max(rssMax, rssMiB())), 200);
  const timings: Record<string, number> = {};
  // The Go server reads uploads without storing them, and serves --dir.
  const go = await startGoDataServer(["--dir", dir, "--upload", "discard", "--samples", OFFSETS]);
  // Ours counts uploads (no 4 GiB on the disk) and serves the same directory.
  let counted: Sampler | undefined;
  let announced = -1;
  const count: FileTransferHandler = async (conn, args) => {
    const s = new Sampler();
    announced = args.fileSize;
    const buf = new Uint8Array(256 * 1024);
    let n;
    while ((n = await conn.read(buf)) !== null) s.add(buf.subarray(0, n));
    if (s.bytes !== args.fileSize) throw new TransferIncompleteError(args.fileSize, s.bytes);
    counted = s;
  };
  const ts = await startTsDataServer({ handler: count }, {}, dir);
  const x = xclientFor("_filetransfer", go.addr);
  const y = xclientFor("_filetransfer", ts.addr);
  try {
    let t = performance.now();
    const up = await bounded(sendFile(x, path), 600_000, "sendFile to Go");
    timings.denoToGoUpload = performance.now() - t;
    assert.deepEqual(up, { bytes: SIZE, confirmed: false });
    const ev = await go.waitEvent((e) => e.event === "upload", 60_000);
    assert.equal(ev.error, undefined);
    assert.equal(ev.fileSize, SIZE);
    assert.equal(ev.bytes, SIZE);
    assert.deepEqual(ev.samples, EXPECTED);

    t = performance.now();
    const r = await runGoDataClient(ts.addr, ["--op", "upload", "--file", path], 600_000);
    assert.equal(r.code, 0, String(r.error));
    await bounded(
      (async () => {
        while (!counted) await new Promise((res) => setTimeout(res, 50));
      })(),
      60_000,
      "our handler to count the upload",
    );
    timings.goToDenoUpload = performance.now() - t;
    assert.equal(announced, SIZE);
    assert.equal(counted!.bytes, SIZE);
    assert.deepEqual(counted!.got, EXPECTED);
    assert.ok(counted!.nonZero <= SAMPLES.size);

    t = performance.now();
    const d = await runGoDataClient(
      ts.addr,
      ["--op", "download", "--name", "big.bin", "--samples", OFFSETS],
      600_000,
    );
    timings.denoToGoDownload = performance.now() - t;
    assert.equal(d.code, 0, String(d.error));
    assert.equal(d.bytes, SIZE);
    assert.deepEqual(d.samples, EXPECTED);

    t = performance.now();
    const s = new Sampler();
    const got = await bounded(
      downloadFile(x, "big.bin", new WritableStream({ write: (c) => s.add(c) })),
      600_000,
      "downloadFile from Go",
    );
    timings.goToDenoDownload = performance.now() - t;
    assert.deepEqual(got, { bytes: SIZE, confirmed: false });
    assert.equal(s.bytes, SIZE);
    assert.deepEqual(s.got, EXPECTED);
  } finally {
    clearInterval(watch);
    await x.close();
    await y.close();
    await go.stop();
    await ts.close();
    await Deno.remove(dir, { recursive: true });
  }
  const secs = Object.fromEntries(
    Object.entries(timings).map(([k, v]) => [k, +(v / 1000).toFixed(1)]),
  );
  console.log(
    `  4 GiB transfers (s): ${JSON.stringify(secs)}; RSS ${rss0.toFixed(0)} -> max ${
      rssMax.toFixed(0)
    } MiB`,
  );
  // Streamed, never held: the test process grows by far less than the file.
  assert.ok(rssMax - rss0 < 512, `RSS grew by ${rssMax - rss0} MiB`);
});
