// Files and an in-process Deno server for the file transfer and stream tests.

import { createHash } from "node:crypto";
import { FailMode, Peer2PeerDiscovery, SelectMode, Server, XClient } from "@rpcx/core";
import {
  directoryHandlers,
  enableFileTransfer,
  enableStreamService,
  FileTransfer,
  type FileTransferOptions,
  messageStreamHandler,
  StreamService,
  type StreamServiceOptions,
} from "@rpcx/core/stream";

/** Writes `size` pseudo-random bytes to `path` (1 MiB at a time); returns their sha256 hex. */
export async function makeFile(path: string, size: number, seed = 1): Promise<string> {
  const hash = createHash("sha256");
  const f = await Deno.open(path, { write: true, create: true, truncate: true });
  try {
    const block = new Uint8Array(1 << 20);
    let x = seed >>> 0 || 1;
    for (let off = 0; off < size;) {
      const n = Math.min(block.byteLength, size - off);
      for (let i = 0; i < n; i += 4) {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        block[i] = x;
        block[i + 1] = x >>> 8;
        block[i + 2] = x >>> 16;
        block[i + 3] = x >>> 24;
      }
      const chunk = block.subarray(0, n);
      hash.update(chunk);
      for (let o = 0; o < n;) o += await f.write(chunk.subarray(o));
      off += n;
    }
  } finally {
    f.close();
  }
  return hash.digest("hex");
}

/** The sha256 hex of a file, read 1 MiB at a time. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  const f = await Deno.open(path);
  try {
    const buf = new Uint8Array(1 << 20);
    let n;
    while ((n = await f.read(buf)) !== null) hash.update(buf.subarray(0, n));
  } finally {
    f.close();
  }
  return hash.digest("hex");
}

/** The sha256 hex of bytes. */
export function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** A Deno server with the file transfer (a directory) and the stream service (echo). */
export interface TsDataServer {
  readonly server: Server;
  readonly addr: string;
  readonly root: string;
  readonly ft: FileTransfer;
  readonly ss: StreamService;
  /** Errors the data services reported (onError), with the peer's address. */
  readonly errors: { error: unknown; remote: string }[];
  close(): Promise<void>;
}

/**
 * Starts a Deno server: `_filetransfer` over `directoryHandlers(root)` (a new temp dir unless
 * given) and `_streamservice` that echoes raw bytes, or messages when the caller's meta has
 * `kind=messages`. `ft`/`ss` override options.
 */
export async function startTsDataServer(
  ft: Partial<FileTransferOptions> = {},
  ss: Partial<StreamServiceOptions> = {},
  root?: string,
): Promise<TsDataServer> {
  const dir = root ?? await Deno.makeTempDir({ prefix: "rpcx_stream_" });
  const errors: { error: unknown; remote: string }[] = [];
  const onError = (error: unknown, remote: string) => errors.push({ error, remote });
  const server = new Server();
  const echoMessages = messageStreamHandler<unknown, unknown>(async function* (m) {
    yield* m;
  });
  const fileTransfer = new FileTransfer({ ...directoryHandlers(dir), onError, ...ft });
  const streamService = new StreamService({
    handler: (conn, args, info) =>
      args.meta.kind === "messages"
        ? echoMessages(conn, args, info)
        : conn.readable.pipeTo(conn.writable),
    onError,
    ...ss,
  });
  await enableFileTransfer(server, fileTransfer);
  await enableStreamService(server, streamService);
  const addr = await server.serve("tcp", "127.0.0.1:0");
  return {
    server,
    addr,
    root: dir,
    ft: fileTransfer,
    ss: streamService,
    errors,
    async close() {
      await server.close();
      await fileTransfer.close();
      await streamService.close();
      if (!root) await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

/** An XClient for `service` (Go's examples: Failtry, RandomSelect, Peer2Peer). */
export function xclientFor(service: string, addr: string, retries?: number): XClient {
  return new XClient(
    service,
    FailMode.Failtry,
    SelectMode.RandomSelect,
    new Peer2PeerDiscovery(`tcp@${addr}`),
    retries === undefined ? {} : { retries },
  );
}

/** The names in a directory (sorted). */
export async function listDir(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) names.push(e.name);
  return names.sort();
}
