// File transfer and the stream service under Node and under Bun, from the npm package as a user
// installs it (issue 25; tests/support/runtime_peer/stream.ts compiled beside the installed
// package): per runtime,
// - our server there (FileTransfer over a directory, an echoing StreamService) takes Go's
//   SendFile, serves Go's DownloadFile and echoes Go's Stream (the real Go peer's data-client),
//   and does the same for our Deno client (sendFile, downloadFile, stream);
// - our client there (sendFile, downloadFile, stream) uploads to, downloads from and streams
//   through Go's FileTransfer / StreamService (the Go peer's data-server) and a Deno server.
// Every file is checked by sha256, every echoed byte by value; no child may write to stderr.
import assert from "node:assert/strict";
import { downloadFile, sendFile } from "@rpcx/core/stream";
import { removeAtExit, waitFor } from "./support/env.ts";
import { needGoPeer } from "./support/go_peer.ts";
import { runGoDataClient, startGoDataServer } from "./support/data_peer.ts";
import { makeFile, sha256File, startTsDataServer, xclientFor } from "./support/stream_files.ts";
import { runOurs, startOurs, TARGETS } from "./support/runtimes.ts";
import { echo } from "./support/runtime_peer/stream.ts";

const MiB = 2 ** 20;
/** Sizes moved each way: empty, one byte, and several MiB (many socket reads and file writes). */
const SIZES = [0, 1, 5 * MiB + 3];
/** Bytes echoed through each stream. */
const ECHO = 3 * MiB + 5;

let srcDir: string | undefined;
const sources = new Map<number, { path: string; name: string; sha: string }>();
async function source(size: number) {
  if (!srcDir) {
    srcDir = await Deno.makeTempDir({ prefix: "rpcx_rt_src_" });
    removeAtExit(srcDir);
  }
  let s = sources.get(size);
  if (!s) {
    const name = `r${size}.bin`;
    const path = `${srcDir}/${name}`;
    s = { path, name, sha: await makeFile(path, size, size + 11) };
    sources.set(size, s);
  }
  return s;
}

/** Waits (bounded) until `path` holds `sha` (Go's client returns before the server stored it). */
async function stored(path: string, sha: string, what: string): Promise<void> {
  // waitFor stops polling once its bound passed (a bounded loop would go on polling behind it).
  await waitFor(
    what,
    async () => (await sha256File(path).catch(() => undefined)) === sha,
    30_000,
    30,
  );
}

/** A Deno-side byte pattern echo through `stream()`: the bytes read back, checked. */
async function denoEcho(addr: string, n: number): Promise<number> {
  const x = xclientFor("_streamservice", addr);
  try {
    return await echo(x, n);
  } finally {
    await x.close();
  }
}

for (const target of TARGETS) {
  Deno.test(`Go's client and ours -> our file transfer and stream service on ${target.name}: upload, download, echo`, async () => {
    const run = target.command();
    if (!run || !needGoPeer()) return;
    const dir = await Deno.makeTempDir({ prefix: `rpcx_rt_${target.name}_` });
    removeAtExit(dir);
    const ours = await startOurs(run, ["data-serve", "--dir", dir]);
    const out = await Deno.makeTempDir();
    removeAtExit(out);
    try {
      for (const size of SIZES) {
        const src = await source(size);
        // Go's SendFile, then Go's DownloadFile of what was stored.
        const up = await runGoDataClient(ours.addr, ["--op", "upload", "--file", src.path]);
        assert.equal(up.code, 0, `${target.name}: Go's upload of ${size} B: ${up.error}`);
        await stored(`${dir}/${src.name}`, src.sha, `${src.name} stored on ${target.name}`);
        const down = await runGoDataClient(ours.addr, ["--op", "download", "--name", src.name]);
        assert.equal(down.code, 0, `${target.name}: Go's download of ${size} B: ${down.error}`);
        assert.equal(down.bytes, size);
        assert.equal(down.sha256, src.sha, `${target.name}: Go downloaded ${size} B`);
        await Deno.remove(`${dir}/${src.name}`);
        // Ours (on Deno) to the same server.
        const x = xclientFor("_filetransfer", ours.addr);
        try {
          const sent = await sendFile(x, src.path);
          assert.equal(sent.bytes, size);
          assert.equal(await sha256File(`${dir}/${src.name}`), src.sha);
          const got = await downloadFile(x, src.name, `${out}/${src.name}`);
          assert.equal(got.bytes, size);
          assert.equal(await sha256File(`${out}/${src.name}`), src.sha);
        } finally {
          await x.close();
        }
      }
      const echo = await runGoDataClient(ours.addr, ["--op", "stream", "--bytes", String(ECHO)]);
      assert.equal(echo.code, 0, `${target.name}: Go's stream echo: ${echo.error}`);
      assert.equal(echo.bytes, ECHO);
      assert.equal(await denoEcho(ours.addr, ECHO), ECHO);
    } finally {
      await ours.stop();
    }
    assert.equal(ours.stderrText(), "", `${target.name} wrote to stderr`);
  });

  Deno.test(`our client on ${target.name} -> Go's file transfer and stream service, and a Deno server: upload, download, echo`, async () => {
    const run = target.command();
    if (!run || !needGoPeer()) return;
    const goDir = await Deno.makeTempDir({ prefix: "rpcx_rt_go_" });
    removeAtExit(goDir);
    const out = await Deno.makeTempDir();
    removeAtExit(out);
    const go = await startGoDataServer(["--dir", goDir]);
    const deno = await startTsDataServer();
    try {
      for (const server of ["go", "deno"] as const) {
        const addr = server === "go" ? go.addr : deno.addr;
        const root = server === "go" ? goDir : deno.root;
        for (const size of SIZES) {
          const src = await source(size);
          const what = `${target.name} -> ${server}, ${size} B`;
          const up = await runOurs(run, [
            "data-call",
            "--addr",
            addr,
            "--op",
            "upload",
            "--file",
            src.path,
          ]);
          assert.equal(up.code, 0, `${what}: upload: ${up.stdout} ${up.stderr}`);
          assert.equal(up.stderr, "", `${what}: upload wrote to stderr`);
          assert.equal(JSON.parse(up.stdout).bytes, size);
          await stored(`${root}/${src.name}`, src.sha, `${what}: stored`);
          const path = `${out}/${server}_${src.name}`;
          const down = await runOurs(run, [
            "data-call",
            "--addr",
            addr,
            "--op",
            "download",
            "--name",
            src.name,
            "--out",
            path,
          ]);
          assert.equal(down.code, 0, `${what}: download: ${down.stdout} ${down.stderr}`);
          assert.equal(down.stderr, "", `${what}: download wrote to stderr`);
          const r = JSON.parse(down.stdout);
          assert.equal(r.bytes, size, what);
          assert.equal(r.sha256, src.sha, what);
          assert.equal(await sha256File(path), src.sha, what);
        }
        const echo = await runOurs(run, [
          "data-call",
          "--addr",
          addr,
          "--op",
          "stream",
          "--bytes",
          String(ECHO),
        ]);
        assert.equal(
          echo.code,
          0,
          `${target.name} -> ${server}: echo: ${echo.stdout} ${echo.stderr}`,
        );
        assert.equal(echo.stderr, "", `${target.name} -> ${server}: echo wrote to stderr`);
        assert.equal(JSON.parse(echo.stdout).bytes, ECHO);
      }
      await go.waitEvent((e) => e.event === "stream" && e.bytes === ECHO, 10_000);
      assert.deepEqual(deno.errors, []);
    } finally {
      await go.stop();
      await deno.close();
    }
  });
}
