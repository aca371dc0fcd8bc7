// examples/filetransfer and examples/stream: each client against its server, and against the Go
// peer's data-server (Go's NewFileTransfer / NewStreamService); Go's client (the peer's
// data-client, as rpcx-examples' programs call SendFile, DownloadFile and Stream) against ours.
import assert from "node:assert/strict";
import { startReady } from "./support/child.ts";
import { freePort, REPO_ROOT } from "./support/env.ts";
import { needGoPeer } from "./support/go_peer.ts";
import { runGoDataClient, startGoDataServer } from "./support/data_peer.ts";

async function run(args: string[], cwd: string): Promise<{ code: number; out: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", ...args],
    cwd,
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, out: dec.decode(out.stdout) + dec.decode(out.stderr) };
}

async function startExample(file: string, cwd: string, extra: string[] = []) {
  const addr = `127.0.0.1:${freePort()}`;
  const child = await startReady(Deno.execPath(), [
    "run",
    "-A",
    `${REPO_ROOT}/examples/${file}`,
    "--addr",
    addr,
    "--transfer-addr",
    `127.0.0.1:${freePort()}`,
    ...extra,
  ], { ready: /listening on tcp@(\S+),/, what: `${file}'s listening line`, cwd });
  return { addr: child.match[1], stop: () => child.stop() };
}

Deno.test("examples/filetransfer: client and server; Go's SendFile/DownloadFile against the server; the client against Go's", async () => {
  const dir = await Deno.makeTempDir();
  const served = `${dir}/served`;
  await Deno.mkdir(served);
  await Deno.writeTextFile(`${dir}/abc.txt`, "abc content\n");
  const server = await startExample("filetransfer/server.ts", dir, ["--dir", served]);
  try {
    const r = await run(
      [`${REPO_ROOT}/examples/filetransfer/client.ts`, "--addr", server.addr],
      dir,
    );
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /send ok: 12 bytes, stored/);
    assert.match(r.out, /received: 12 bytes into abc\.txt\.downloaded/);
    assert.equal(await Deno.readTextFile(`${dir}/abc.txt.downloaded`), "abc content\n");
    if (!needGoPeer()) return;
    const up = await runGoDataClient(server.addr, ["--op", "upload", "--file", `${dir}/abc.txt`]);
    assert.equal(up.code, 0, String(up.error));
    const down = await runGoDataClient(server.addr, ["--op", "download", "--name", "abc.txt"]);
    assert.equal(down.code, 0, String(down.error));
    assert.equal(down.bytes, 12);
    // Go's server does not confirm an upload (its handler may still be writing when the client
    // is done), so the download asks for another file.
    await Deno.writeTextFile(`${served}/other.txt`, "other\n");
    const go = await startGoDataServer(["--dir", served]);
    try {
      const c = await run([
        `${REPO_ROOT}/examples/filetransfer/client.ts`,
        "--addr",
        go.addr,
        "--download",
        "other.txt",
        "--save",
        "from_go.txt",
      ], dir);
      assert.equal(c.code, 0, c.out);
      assert.match(c.out, /send ok: 12 bytes\n/);
      assert.equal(await Deno.readTextFile(`${dir}/from_go.txt`), "other\n");
      const ev = await go.waitEvent((e) => e.event === "upload");
      assert.deepEqual([ev.fileName, ev.bytes, ev.meta], ["abc.txt", 12, { foo: "bar" }]);
    } finally {
      await go.stop();
    }
  } finally {
    await server.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("examples/stream: lines echoed and typed messages; Go's Stream against the server; the client against Go's echo", async () => {
  const dir = await Deno.makeTempDir();
  const server = await startExample("stream/server.ts", dir);
  try {
    const r = await run([
      `${REPO_ROOT}/examples/stream/client.ts`,
      "--addr",
      server.addr,
      "--lines",
      "3",
      "--interval",
      "10",
    ], dir);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /#0: \d+\n#1: \d+\n#2: \d+\n/);
    assert.match(r.out, /message 1: hello\nmessage 2: typed\nmessage 3: streams\n/);
    if (!needGoPeer()) return;
    const lines = await runGoDataClient(server.addr, ["--op", "stream", "--lines", "3"]);
    assert.equal(lines.code, 0, String(lines.error));
    assert.match(lines.text!, /^#0: \d+\n#1: \d+\n#2: \d+\n$/);
    const go = await startGoDataServer();
    try {
      const c = await run([
        `${REPO_ROOT}/examples/stream/client.ts`,
        "--addr",
        go.addr,
        "--lines",
        "2",
        "--interval",
        "10",
        "--lines-only",
      ], dir);
      assert.equal(c.code, 0, c.out);
      assert.match(c.out, /#0: \d+\n#1: \d+\n/);
    } finally {
      await go.stop();
    }
  } finally {
    await server.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
