// Go parity, issue 29/25: streams on the client classes (Go's XClient.SendFile, DownloadFile,
// Stream) as thin methods over @rpcx/core/stream, in the client's serialize type, on XClient,
// Client and OneClient; against our data server and Go's.
import assert from "node:assert/strict";
import {
  Client,
  FailMode,
  OneClient,
  Peer2PeerDiscovery,
  SelectMode,
  SerializeType,
  XClient,
} from "@rpcx/core";
import type { Message } from "@rpcx/core/protocol";
import type { DataConn } from "@rpcx/core/stream";
import { removeAtExit } from "./support/env.ts";
import { needGoPeer } from "./support/go_peer.ts";
import { startGoDataServer } from "./support/data_peer.ts";
import { makeFile, sha256, sha256File, startTsDataServer } from "./support/stream_files.ts";

const JSON_OPTIONS = { serializeType: SerializeType.JSON };

function xclient(service: string, addr: string, options = {}): XClient {
  return new XClient(
    service,
    FailMode.Failtry,
    SelectMode.RandomSelect,
    new Peer2PeerDiscovery(`tcp@${addr}`),
    options,
  );
}

/** Writes `bytes` on `conn` and reads as many back (an echo). */
async function echo(conn: DataConn, bytes: Uint8Array): Promise<Uint8Array> {
  await conn.write(bytes);
  const back = new Uint8Array(bytes.length);
  for (let got = 0; got < back.length;) {
    const n = await conn.read(back.subarray(got));
    if (n === null) break;
    got += n;
  }
  conn.close();
  return back;
}

function collector(): { stream: WritableStream<Uint8Array>; bytes: () => Uint8Array } {
  const chunks: Uint8Array[] = [];
  return {
    stream: new WritableStream({ write: (c) => void chunks.push(c.slice()) }),
    bytes: () => {
      const all = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
      let at = 0;
      for (const c of chunks) all.set(c, (at += c.length) - c.length);
      return all;
    },
  };
}

Deno.test("xclient.sendFile / downloadFile / stream, and the same on Client and OneClient: in the client's serialize type, against our data server", async () => {
  const ts = await startTsDataServer();
  const calls: string[] = [];
  ts.server.use({
    postReadRequest: (req: Message) =>
      void calls.push(`${req.servicePath}.${req.serviceMethod} ${req.serializeType}`),
  });
  const src = await Deno.makeTempDir({ prefix: "rpcx_cs_" });
  removeAtExit(src);
  const x = xclient("_filetransfer", ts.addr, JSON_OPTIONS);
  const xs = xclient("_streamservice", ts.addr, JSON_OPTIONS);
  const client = new Client(`tcp@${ts.addr}`, JSON_OPTIONS);
  const one = new OneClient(
    FailMode.Failtry,
    SelectMode.RandomSelect,
    new Peer2PeerDiscovery(`tcp@${ts.addr}`),
    JSON_OPTIONS,
  );
  try {
    const sha = await makeFile(`${src}/x.bin`, 300_000, 3);
    const sent = await x.sendFile(`${src}/x.bin`, { meta: { via: "xclient" } });
    assert.deepEqual(sent, { bytes: 300_000, confirmed: true });
    assert.equal(await sha256File(`${ts.root}/x.bin`), sha);
    const got = await x.downloadFile("x.bin", `${src}/x.back`);
    assert.deepEqual(got, { bytes: 300_000, confirmed: true });
    assert.equal(await sha256File(`${src}/x.back`), sha);
    const hello = new TextEncoder().encode("#0: hello");
    assert.deepEqual(await echo(await xs.stream({ k: "v" }), hello), hello);

    await makeFile(`${src}/c.bin`, 1000, 4);
    assert.equal((await client.sendFile(`${src}/c.bin`)).bytes, 1000);
    const c = collector();
    assert.equal((await client.downloadFile("c.bin", c.stream)).bytes, 1000);
    assert.equal(sha256(c.bytes()), await sha256File(`${src}/c.bin`));
    assert.deepEqual(await echo(await client.stream(), hello), hello);

    await makeFile(`${src}/o.bin`, 10, 5);
    assert.equal((await one.sendFile(`${src}/o.bin`)).bytes, 10);
    assert.equal((await one.downloadFile("o.bin", `${src}/o.back`)).bytes, 10);
    assert.deepEqual(await echo(await one.stream({ k: "one" }), hello), hello);

    // Every token call went in the client's serialize type (JSON), not the functions' MsgPack.
    const J = SerializeType.JSON;
    assert.deepEqual(calls, [
      `_filetransfer.TransferFile ${J}`,
      `_filetransfer.DownloadFile ${J}`,
      `_streamservice.Stream ${J}`,
      `_filetransfer.TransferFile ${J}`,
      `_filetransfer.DownloadFile ${J}`,
      `_streamservice.Stream ${J}`,
      `_filetransfer.TransferFile ${J}`,
      `_filetransfer.DownloadFile ${J}`,
      `_streamservice.Stream ${J}`,
    ]);
    // The call's own options still win.
    await x.sendFile(`${src}/x.bin`, { serializeType: SerializeType.MsgPack });
    assert.equal(calls.at(-1), `_filetransfer.TransferFile ${SerializeType.MsgPack}`);
  } finally {
    await x.close();
    await xs.close();
    await client.close();
    await one.close();
    await ts.close();
  }
});

Deno.test("xclient.sendFile / downloadFile / stream against Go's FileTransfer and StreamService (Go's XClient.SendFile, DownloadFile, Stream)", async () => {
  if (!needGoPeer()) return;
  const dir = await Deno.makeTempDir({ prefix: "rpcx_cs_go_" });
  removeAtExit(dir);
  const go = await startGoDataServer([
    "--dir",
    dir,
    "--upload",
    "save",
    "--download",
    "dir",
    "--stream",
    "echo",
  ]);
  const x = xclient("_filetransfer", go.addr);
  const xs = xclient("_streamservice", go.addr);
  try {
    const sha = await makeFile(`${dir}/up.src`, 100_000, 9);
    const sent = await x.sendFile(`${dir}/up.src`, { fileName: "up.bin" });
    assert.equal(sent.bytes, 100_000);
    const stored = await go.waitEvent((e) => e.event === "upload" && e.fileName === "up.bin");
    assert.equal(stored.sha256, sha);
    const c = collector();
    assert.equal((await x.downloadFile("up.bin", c.stream)).bytes, 100_000);
    assert.equal(sha256(c.bytes()), sha);
    const line = new TextEncoder().encode("#0: to Go and back\n");
    assert.deepEqual(await echo(await xs.stream({ foo: "bar" }), line), line);
  } finally {
    await x.close();
    await xs.close();
    await go.stop();
  }
});
