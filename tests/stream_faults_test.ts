// Faults of the file transfer and the stream service, Deno to Deno and with raw sockets: wrong,
// reused, expired and evicted tokens, a peer that stalls, a disk that fills, names outside the
// served directory, a client that disconnects. Each a typed error, the server serving others,
// nothing half-written left behind.
import assert from "node:assert/strict";
import { type CallContext, Client, SerializeType } from "@rpcx/core";
import {
  DataConnectionError,
  DataTimeoutError,
  directoryHandlers,
  DiskFullError,
  downloadFile,
  FileNameNotAllowedError,
  FileNotFoundError,
  FileTooLargeError,
  sendFile,
  stream,
  StreamAbortedError,
  StreamError,
  TokenError,
  TransferIncompleteError,
} from "@rpcx/core/stream";
import { bounded, delay, needs } from "./support/env.ts";
import {
  listDir,
  makeFile,
  sha256File,
  startTsDataServer,
  xclientFor,
} from "./support/stream_files.ts";

const enc = new TextEncoder();

/** A token from the `_filetransfer` service, asked for the way Go's client asks (or ours). */
async function token(
  addr: string,
  method: "TransferFile" | "DownloadFile",
  args: Record<string, unknown>,
  status = false,
): Promise<{ token: Uint8Array; addr: string }> {
  const x = xclientFor("_filetransfer", addr);
  try {
    const reply = await x.call<{ Token: Uint8Array; Addr: string }>(method, args, {
      metadata: status ? { __DataStatus: "1" } : {},
    });
    return { token: reply.Token, addr: reply.Addr };
  } finally {
    await x.close();
  }
}

/** Dials a data address, writes `bytes`; the socket. */
async function dialRaw(addr: string, bytes: Uint8Array): Promise<Deno.TcpConn> {
  const [hostname, port] = addr.split(":");
  const c = await Deno.connect({ hostname, port: Number(port) });
  for (let o = 0; o < bytes.byteLength;) o += await c.write(bytes.subarray(o));
  return c;
}

/** Everything the peer sends until it closes (bounded). */
async function readAll(c: Deno.Conn, ms = 5_000): Promise<Uint8Array> {
  const parts: number[] = [];
  const buf = new Uint8Array(65536);
  await bounded(
    (async () => {
      while (true) {
        let n: number | null;
        try {
          n = await c.read(buf);
        } catch {
          break; // reset
        }
        if (n === null) break;
        parts.push(...buf.subarray(0, n));
      }
    })(),
    ms,
    "the data connection to close",
  );
  return Uint8Array.from(parts);
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.byteLength;
  }
  return out;
}

/** Waits until the server reported an error matching `pred`. */
async function reported(
  errors: { error: unknown }[],
  pred: (e: unknown) => boolean,
  what: string,
): Promise<unknown> {
  let found: unknown;
  await bounded(
    (async () => {
      while (!(found = errors.find((e) => pred(e.error))?.error)) await delay(10);
    })(),
    10_000,
    what,
  );
  return found;
}

/** The server still takes an upload and serves it back. */
async function stillServes(addr: string, root: string): Promise<void> {
  const x = xclientFor("_filetransfer", addr);
  try {
    const name = `ok_${crypto.randomUUID()}.txt`;
    const r = await sendFile(x, ReadableStream.from([enc.encode("still here")]), {
      fileName: name,
    });
    assert.deepEqual(r, { bytes: 10, confirmed: true });
    assert.equal(await Deno.readTextFile(`${root}/${name}`), "still here");
    await Deno.remove(`${root}/${name}`);
  } finally {
    await x.close();
  }
}

Deno.test("tokens: wrong, short, reused, expired and evicted ones are refused with a reason; Go's tokens get no status bytes", async () => {
  const ts = await startTsDataServer({ waitNum: 2, tokenTimeout: 300 });
  try {
    const up = { FileName: "t.bin", FileSize: 3, Meta: null };
    // Wrong (never issued): closed, nothing written to a token without the status bit (as Go's
    // server: a Go client never gets bytes it did not ask for); a refusal with it.
    const goLike = crypto.getRandomValues(new Uint8Array(32));
    goLike[0] &= 0xfe;
    const wrong = await dialRaw(ts.ft.address!, goLike);
    assert.equal((await readAll(wrong)).byteLength, 0);
    wrong.close();
    const ours = crypto.getRandomValues(new Uint8Array(32));
    ours[0] |= 1;
    const wrongOurs = await dialRaw(ts.ft.address!, ours);
    const told = await readAll(wrongOurs);
    wrongOurs.close();
    assert.equal(told[0], 1);
    assert.equal(JSON.parse(new TextDecoder().decode(told.subarray(5))).reason, "unknown");
    // Short: the connection ends inside the 32 bytes.
    const short = await dialRaw(ts.ft.address!, new Uint8Array(10));
    await short.closeWrite();
    assert.equal((await readAll(short)).byteLength, 0);
    short.close();
    // Reused: the first use stores the file, the second is refused. Our token asks for status.
    const t = await token(ts.addr, "TransferFile", up, true);
    assert.equal(t.token.byteLength, 32);
    assert.equal(t.token[0] & 1, 1);
    assert.equal(t.addr, ts.ft.address); // host:port, as Go advertises
    const first = await dialRaw(t.addr, concat(t.token, Uint8Array.of(1, 2, 3)));
    await first.closeWrite();
    assert.deepEqual(await readAll(first), Uint8Array.of(0, 0)); // accepted, stored
    first.close();
    const again = await dialRaw(t.addr, t.token);
    const refusal = await readAll(again);
    again.close();
    assert.equal(refusal[0], 1);
    const json = JSON.parse(new TextDecoder().decode(refusal.subarray(5)));
    assert.deepEqual(json, {
      error: "TokenError",
      message: "rpcx: data token refused: used",
      reason: "used",
    });
    // Expired: older than tokenTimeout (300 ms).
    const old = await token(ts.addr, "TransferFile", up);
    assert.equal(old.token[0] & 1, 0); // a Go client's token: no status
    await delay(400);
    const late = await dialRaw(old.addr, old.token);
    assert.equal((await readAll(late)).byteLength, 0);
    late.close();
    // Evicted: waitNum 2, a third token pushes out the first (Go: lru.New(waitNum)).
    const a = await token(ts.addr, "TransferFile", up);
    await token(ts.addr, "TransferFile", up);
    await token(ts.addr, "TransferFile", up);
    assert.equal(ts.ft.waiting, 2);
    const out = await dialRaw(a.addr, a.token);
    assert.equal((await readAll(out)).byteLength, 0);
    out.close();

    const reasons = ts.errors.map((e) => (e.error as TokenError).reason);
    assert.deepEqual(reasons, ["unknown", "unknown", "short", "used", "expired", "evicted"]);
    for (const e of ts.errors) assert.ok(e.error instanceof TokenError);
    assert.deepEqual(
      new Uint8Array(await Deno.readFile(`${ts.root}/t.bin`)),
      Uint8Array.of(1, 2, 3),
    );
    await stillServes(ts.addr, ts.root);
  } finally {
    await ts.close();
  }
});

Deno.test("tokens: our client gets TokenError when its token expired before it dialed", async () => {
  const ts = await startTsDataServer({ tokenTimeout: 20 });
  // A reply that comes 100 ms after the token was issued.
  const slow = {
    TransferFile: async (a: unknown, c: CallContext) => {
      const r = await ts.ft.service.TransferFile(a, c);
      await delay(100);
      return r;
    },
  };
  await ts.server.register(slow, "_slowtransfer");
  const x = xclientFor("_slowtransfer", ts.addr);
  try {
    await assert.rejects(
      sendFile(x, ReadableStream.from([enc.encode("x")]), { fileName: "late.txt" }),
      (e) => e instanceof TokenError && e.reason === "expired" && e.remote,
    );
    assert.deepEqual(await listDir(ts.root), []);
  } finally {
    await x.close();
    await ts.close();
  }
});

Deno.test("a peer that stalls mid-file: DataTimeoutError both ways, the part removed, the server serving", async () => {
  const ts = await startTsDataServer({ idleTimeout: 300 });
  try {
    // Upload that stops after 1,000 of 10,000 bytes and holds the connection open.
    const t = await token(ts.addr, "TransferFile", {
      FileName: "s.bin",
      FileSize: 10_000,
      Meta: null,
    });
    const c = await dialRaw(t.addr, concat(t.token, new Uint8Array(1000)));
    const e = await reported(ts.errors, (e) => e instanceof DataTimeoutError, "the stall reported");
    assert.equal((e as DataTimeoutError).timeout, 300);
    assert.deepEqual(await listDir(ts.root), []);
    c.close();
    // A downloader that never reads: the server's writes stall.
    await makeFile(`${ts.root}/big.bin`, 64 * 2 ** 20);
    const d = await token(ts.addr, "DownloadFile", { FileName: "big.bin", Meta: null });
    const reader = await dialRaw(d.addr, d.token);
    await bounded(
      (async () => {
        while (ts.errors.filter((e) => e.error instanceof DataTimeoutError).length < 2) {
          await delay(20);
        }
      })(),
      15_000,
      "the stalled download reported",
    );
    reader.close();
    await stillServes(ts.addr, ts.root);
  } finally {
    await ts.close();
  }
  // A server that stalls mid-download: our client's idle bound.
  const stalling = await startTsDataServer({
    checkDownload: () => 100,
    downloadHandler: async (conn) => {
      await conn.write(new Uint8Array(10));
      await new Promise((r) => conn.signal.addEventListener("abort", r));
    },
  });
  const x = xclientFor("_filetransfer", stalling.addr);
  const out = await Deno.makeTempDir();
  try {
    const t0 = performance.now();
    await assert.rejects(
      downloadFile(x, "any", `${out}/any`, { idleTimeout: 300 }),
      (e) => e instanceof DataTimeoutError && e.timeout === 300,
    );
    assert.ok(performance.now() - t0 < 5_000);
    assert.deepEqual(await listDir(out), []); // the .part file is gone
  } finally {
    await x.close();
    await stalling.close();
    await Deno.remove(out, { recursive: true });
  }
});

/** A 1 MiB tmpfs at a new directory; undefined (and why) when it cannot be mounted. */
async function tmpfs(): Promise<{ dir: string; unmount(): Promise<void> } | string> {
  const dir = await Deno.makeTempDir({ prefix: "rpcx_tmpfs_" });
  const r = await new Deno.Command("mount", {
    args: ["-t", "tmpfs", "-o", "size=1m", "tmpfs", dir],
    stderr: "piped",
  }).output().catch((e) => ({ success: false, stderr: enc.encode(String(e)) }));
  if (!r.success) {
    await Deno.remove(dir);
    return `mount tmpfs: ${new TextDecoder().decode(r.stderr).trim()}`;
  }
  return {
    dir,
    async unmount() {
      await new Deno.Command("umount", { args: [dir] }).output();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test("a disk that fills: DiskFullError on upload (remote) and download (local), nothing half-written", async () => {
  const fs = await tmpfs();
  if (typeof fs === "string") {
    if (!needs("a tmpfs mount (root)", fs)) return;
  }
  const { dir, unmount } = fs as Exclude<typeof fs, string>;
  const ts = await startTsDataServer({}, {}, dir);
  const x = xclientFor("_filetransfer", ts.addr);
  const src = await Deno.makeTempFile();
  try {
    await makeFile(src, 2 * 2 ** 20);
    await assert.rejects(
      sendFile(x, src),
      (e) => e instanceof DiskFullError && e.remote && /No space left/.test(e.message),
    );
    assert.deepEqual(await listDir(dir), []);
    await reported(ts.errors, (e) => e instanceof DiskFullError, "the disk full reported");
    await stillServes(ts.addr, dir);
    // Our disk fills while downloading.
    const other = await startTsDataServer();
    const y = xclientFor("_filetransfer", other.addr);
    try {
      await Deno.copyFile(src, `${other.root}/big.bin`);
      await assert.rejects(
        downloadFile(y, "big.bin", `${dir}/big.bin`),
        (e) => e instanceof DiskFullError && !e.remote,
      );
      assert.deepEqual(await listDir(dir), []);
      // Into a stream that fails: aborted with the stream's error.
      await assert.rejects(
        downloadFile(
          y,
          "big.bin",
          new WritableStream({ write: () => Promise.reject(new Error("ENOSPC")) }),
        ),
        /ENOSPC/,
      );
    } finally {
      await y.close();
      await other.close();
    }
  } finally {
    await x.close();
    await ts.close();
    await Deno.remove(src);
    await unmount();
  }
});

Deno.test("names: .., absolute, NUL, symlinks out of the root and directories are refused, typed", async () => {
  const ts = await startTsDataServer();
  const x = xclientFor("_filetransfer", ts.addr);
  const outside = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${outside}/secret.txt`, "secret");
    await Deno.writeTextFile(`${ts.root}/inside.txt`, "inside");
    await Deno.mkdir(`${ts.root}/sub`);
    await Deno.writeTextFile(`${ts.root}/sub/deep.txt`, "deep");
    await Deno.symlink(`${outside}/secret.txt`, `${ts.root}/evil.txt`);
    await Deno.symlink(outside, `${ts.root}/evildir`);
    await Deno.symlink(`${ts.root}/inside.txt`, `${ts.root}/alias.txt`);
    const chunks = () => {
      const got: Uint8Array[] = [];
      return { got, w: new WritableStream<Uint8Array>({ write: (c) => void got.push(c) }) };
    };
    for (
      const name of [
        "../secret.txt",
        `${outside}/secret.txt`,
        "sub/../../secret.txt",
        "..\\secret.txt",
        "evil.txt",
        "evildir/secret.txt",
        "a\0b",
        "",
      ]
    ) {
      const { got, w } = chunks();
      await assert.rejects(
        downloadFile(x, name, w),
        (e) => e instanceof FileNameNotAllowedError && e.remote && e.fileName === name,
        name,
      );
      assert.equal(got.length, 0);
    }
    for (const name of ["sub", "missing.txt", "sub/missing.txt"]) {
      await assert.rejects(downloadFile(x, name, chunks().w), FileNotFoundError, name);
    }
    // Inside the root (a symlink to a file inside counts): served.
    for (
      const [name, text] of [["sub/deep.txt", "deep"], ["alias.txt", "inside"], [
        "./inside.txt",
        "inside",
      ]]
    ) {
      const { got, w } = chunks();
      const r = await downloadFile(x, name, w);
      assert.deepEqual(r, { bytes: text.length, confirmed: true });
      assert.equal(new TextDecoder().decode(concat(...got)), text);
    }
    // Upload names: one plain element.
    for (const name of ["../up.txt", "a/b.txt", "..", "/abs.txt", "x\\y"]) {
      await assert.rejects(
        sendFile(x, ReadableStream.from([enc.encode("x")]), { fileName: name }),
        FileNameNotAllowedError,
        name,
      );
    }
    assert.deepEqual(await listDir(outside), ["secret.txt"]);
    assert.deepEqual(await listDir(ts.root), [
      "alias.txt",
      "evil.txt",
      "evildir",
      "inside.txt",
      "sub",
    ]);
    assert.deepEqual(ts.errors, []); // refused in the call: no data connection
  } finally {
    await x.close();
    await ts.close();
    await Deno.remove(outside, { recursive: true });
  }
});

Deno.test("a client that disconnects or aborts mid-transfer: TransferIncompleteError at the server, no part left", async () => {
  const ts = await startTsDataServer();
  const x = xclientFor("_filetransfer", ts.addr);
  try {
    // Go-style: 100 of 1,000 bytes, then the socket closes.
    const t = await token(ts.addr, "TransferFile", {
      FileName: "cut.bin",
      FileSize: 1000,
      Meta: null,
    });
    const c = await dialRaw(t.addr, concat(t.token, new Uint8Array(100)));
    c.close();
    const e = await reported(
      ts.errors,
      (e) => e instanceof TransferIncompleteError,
      "the cut reported",
    );
    assert.deepEqual(
      [(e as TransferIncompleteError).expected, (e as TransferIncompleteError).received],
      [1000, 100],
    );
    // Ours: aborted by its signal while sending a slow stream.
    const ac = new AbortController();
    let pulls = 0;
    const slow = new ReadableStream<Uint8Array>({
      async pull(ctl) {
        if (++pulls === 3) ac.abort("user");
        await delay(20);
        ctl.enqueue(new Uint8Array(1000));
      },
    });
    await assert.rejects(
      sendFile(x, slow, { fileName: "aborted.bin", fileSize: 1_000_000, signal: ac.signal }),
      (e) => e instanceof StreamAbortedError && e.cause === "user",
    );
    await reported(
      ts.errors,
      (e) => e instanceof TransferIncompleteError && e.expected === 1_000_000,
      "the abort reported",
    );
    // More bytes than announced (Go-style: a Deno client sends exactly FileSize, and with
    // status frames the handler's reads end there).
    const more = await token(ts.addr, "TransferFile", {
      FileName: "more.bin",
      FileSize: 2,
      Meta: null,
    });
    const m = await dialRaw(more.addr, concat(more.token, new Uint8Array(5)));
    m.close();
    const over = await reported(
      ts.errors,
      (e) => e instanceof TransferIncompleteError && e.expected === 2,
      "the extra bytes reported",
    );
    assert.equal((over as TransferIncompleteError).received, 5);
    // Of unknown size with status frames: chunks; a connection that ends before the zero
    // length is a cut upload, never a complete one.
    const cut = await token(ts.addr, "TransferFile", {
      FileName: "cut2.bin",
      FileSize: -1,
      Meta: null,
    }, true);
    const k = await dialRaw(cut.addr, concat(cut.token, Uint8Array.of(0, 0, 0, 3, 1, 2, 3)));
    const accepted = new Uint8Array(1);
    assert.equal(await k.read(accepted), 1);
    assert.equal(accepted[0], 0);
    k.close();
    await reported(
      ts.errors,
      (e) => e instanceof DataConnectionError && /cut before its end/.test(e.message),
      "the cut chunked upload reported",
    );
    assert.deepEqual(await listDir(ts.root), []);
    // A downloader that goes away after the first bytes.
    await makeFile(`${ts.root}/big.bin`, 16 * 2 ** 20);
    const d = await token(ts.addr, "DownloadFile", { FileName: "big.bin", Meta: null });
    const r = await dialRaw(d.addr, d.token);
    await r.read(new Uint8Array(1000));
    r.close();
    await reported(
      ts.errors,
      (e) => e instanceof DataConnectionError,
      "the gone downloader reported",
    );
    await stillServes(ts.addr, ts.root);
  } finally {
    await x.close();
    await ts.close();
  }
});

Deno.test("sizes: over maxFileSize refused in the call or mid-stream; a short download is TransferIncompleteError", async () => {
  const root = await Deno.makeTempDir();
  const limited = await startTsDataServer(
    { ...directoryHandlers(root, { maxFileSize: 1000 }) },
    {},
    root,
  );
  const x = xclientFor("_filetransfer", limited.addr);
  try {
    await assert.rejects(
      sendFile(x, ReadableStream.from([new Uint8Array(10)]), { fileName: "a.bin", fileSize: 1001 }),
      (e) => e instanceof FileTooLargeError && e.limit === 1000 && e.remote,
    );
    // Size unknown (-1): refused once past the bound, while sending.
    const chunks = Array.from({ length: 50 }, () => new Uint8Array(100));
    await assert.rejects(
      sendFile(x, ReadableStream.from(chunks), { fileName: "b.bin" }),
      (e) => e instanceof FileTooLargeError && e.remote,
    );
    assert.deepEqual(await listDir(root), []);
    const ok = await sendFile(x, ReadableStream.from([new Uint8Array(1000)]), {
      fileName: "c.bin",
    });
    assert.deepEqual(ok, { bytes: 1000, confirmed: true });
  } finally {
    await x.close();
    await limited.close();
    await Deno.remove(root, { recursive: true });
  }
  const short = await startTsDataServer({
    checkDownload: () => 100,
    downloadHandler: (conn) => conn.write(new Uint8Array(50)),
  });
  const y = xclientFor("_filetransfer", short.addr);
  const out = await Deno.makeTempDir();
  try {
    await assert.rejects(
      downloadFile(y, "x", `${out}/x`),
      (e) => e instanceof TransferIncompleteError && e.expected === 100 && e.received === 50,
    );
    assert.deepEqual(await listDir(out), []);
  } finally {
    await y.close();
    await short.close();
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("through a Client (not an XClient), JSON, and a unix data address", async () => {
  const sock = `${await Deno.makeTempDir()}/data.sock`;
  const ts = await startTsDataServer({ addr: `unix@${sock}` });
  const client = new Client(`tcp@${ts.addr}`, { serializeType: SerializeType.JSON });
  const src = await Deno.makeTempFile();
  try {
    assert.equal(ts.ft.address, `unix@${sock}`);
    const sha = await makeFile(src, 300_000);
    const r = await sendFile(client, src, { serializeType: SerializeType.JSON, fileName: "u.bin" });
    assert.deepEqual(r, { bytes: 300_000, confirmed: true });
    assert.equal(await sha256File(`${ts.root}/u.bin`), sha);
    const conn = await stream(client, { a: "b" }, { serializeType: SerializeType.JSON });
    await conn.write(enc.encode("ping"));
    const back = new Uint8Array(4);
    for (let got = 0; got < 4;) got += (await conn.read(back.subarray(got))) ?? 4;
    assert.equal(new TextDecoder().decode(back), "ping");
    conn.close();
  } finally {
    await client.close();
    await ts.close();
    await Deno.remove(src);
  }
});

Deno.test("close() is bounded: transfers in progress are aborted, their parts removed", async () => {
  const ts = await startTsDataServer();
  const x = xclientFor("_filetransfer", ts.addr);
  try {
    const slow = new ReadableStream<Uint8Array>({
      async pull(ctl) {
        await delay(10);
        ctl.enqueue(new Uint8Array(1000));
      },
    });
    const sending = sendFile(x, slow, { fileName: "never.bin" });
    sending.catch(() => {});
    await bounded(
      (async () => {
        while (ts.ft.connections === 0) await delay(10);
      })(),
      5_000,
      "the transfer to start",
    );
    const t0 = performance.now();
    await ts.ft.close();
    assert.ok(performance.now() - t0 < 6_000);
    await assert.rejects(sending, StreamError);
    assert.deepEqual(await listDir(ts.root), []);
  } finally {
    await x.close();
    await ts.close();
  }
});

Deno.test("directoryHandlers with a missing folder: uploads create it (mkdir -p); downloads alone do not, and a download is FileNotFoundError for the file asked, never the server's folder", async () => {
  const base = await Deno.makeTempDir();
  const root = `${base}/files/in/here`;
  const up = await startTsDataServer({ ...directoryHandlers(root) }, {}, base);
  const x = xclientFor("_filetransfer", up.addr);
  const onlyDown = `${base}/nothing`;
  const down = await startTsDataServer(
    { ...directoryHandlers(onlyDown, { uploads: false }) },
    {},
    base,
  );
  const y = xclientFor("_filetransfer", down.addr);
  const out = await Deno.makeTempDir();
  try {
    const sent = await sendFile(x, ReadableStream.from([enc.encode("hello")]), {
      fileName: "a.txt",
      fileSize: 5,
    });
    assert.deepEqual(sent, { bytes: 5, confirmed: true });
    assert.equal(await Deno.readTextFile(`${root}/a.txt`), "hello");
    await assert.rejects(
      downloadFile(y, "b.txt", `${out}/b.txt`),
      (e) =>
        e instanceof FileNotFoundError && e.fileName === "b.txt" && !e.message.includes(onlyDown),
    );
    await assert.rejects(Deno.stat(onlyDown), Deno.errors.NotFound);
  } finally {
    await x.close();
    await y.close();
    await up.close();
    await down.close();
    await Deno.remove(out, { recursive: true });
    await Deno.remove(base, { recursive: true }).catch(() => {});
  }
});
