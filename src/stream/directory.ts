/**
 * A safe default for the file transfer's handlers: uploads stored into one directory, downloads
 * served from it, nothing outside it.
 *
 * @module
 */
import type { DataConn } from "./_conn.ts";
import {
  createNew,
  makeDirectory,
  openRead,
  partPath,
  realPath,
  removeQuietly,
  rename,
  stat,
  type WriteFile,
} from "./_files.ts";
import type { DownloadFileArgs, FileTransferArgs } from "./_wire.ts";
import {
  FileNameNotAllowedError,
  FileNotFoundError,
  FileTooLargeError,
  TransferIncompleteError,
} from "./errors.ts";
import type { FileTransferOptions } from "./file_transfer.ts";

/**
 * Options of {@linkcode directoryHandlers}.
 *
 * @example
 * ```ts
 * import type { DirectoryOptions } from "@rpcx/core/stream";
 * const o: DirectoryOptions = { downloads: false, maxFileSize: 100 * 2 ** 20 };
 * console.log(o.maxFileSize); // 104857600
 * ```
 */
export interface DirectoryOptions {
  /** Store uploads (default true). */
  uploads?: boolean;
  /** Serve downloads (default true). */
  downloads?: boolean;
  /** Refuse an upload larger than this many bytes (announced or received). Default: none. */
  maxFileSize?: number;
  /** Flush an upload to the disk (fsync) before it takes its name. Default false. */
  sync?: boolean;
}

/**
 * Each of the two buffers of an upload or a download, bytes: the file is written or read a
 * buffer at a time (fewer, larger file operations: each is a hand-off to the runtime's file
 * thread and back) while the socket fills or drains the other one. 2 MiB a transfer.
 */
const BUFFER = 1024 * 1024;
/** A buffer is written once less than this is left in it (so no read is given a sliver). */
const UPLOAD_SLACK = 64 * 1024;

function isAbsolute(name: string): boolean {
  return name.startsWith("/") || name.startsWith("\\") || /^[A-Za-z]:/.test(name);
}

/** An upload's name: one plain path element (Go's client sends its file's base name). */
function uploadName(name: string): string {
  if (
    !name || name === "." || name === ".." || /[/\\\0]/.test(name) ||
    new TextEncoder().encode(name).byteLength > 255
  ) throw new FileNameNotAllowedError(name);
  return name;
}

/**
 * Where `name` is under `rootReal`: a relative path with no `..` element and no NUL, whose
 * real path (symlinks resolved) stays inside the root and is a regular file.
 */
async function confine(rootReal: string, name: string): Promise<{ path: string; size: number }> {
  if (!name || name.includes("\0") || isAbsolute(name)) throw new FileNameNotAllowedError(name);
  if (name.split(/[/\\]/).includes("..")) throw new FileNameNotAllowedError(name);
  const real = await realPath(`${rootReal}/${name}`, name);
  if (real !== rootReal && !real.startsWith(rootReal === "/" ? "/" : `${rootReal}/`)) {
    throw new FileNameNotAllowedError(name);
  }
  const s = await stat(real);
  if (!s?.isFile) throw new FileNotFoundError(name);
  return { path: real, size: s.size };
}

async function store(
  conn: DataConn,
  args: FileTransferArgs,
  rootReal: string,
  options: DirectoryOptions,
): Promise<void> {
  const name = uploadName(args.fileName);
  const limit = options.maxFileSize ?? Infinity;
  const expected = args.fileSize >= 0 ? args.fileSize : -1;
  if (expected > limit) throw new FileTooLargeError(limit);
  const target = `${rootReal}/${name}`;
  const part = partPath(target);
  let file: WriteFile | undefined;
  let received = 0;
  try {
    file = await createNew(part);
    // Reads fill a buffer (a peer may send small segments: Go's client writes 1 KiB at a
    // time) and the file is written in large pieces; while one buffer is written, the next
    // fills (two buffers: the socket is read while the disk takes the last piece).
    const bufs = [new Uint8Array(BUFFER), new Uint8Array(BUFFER)];
    let buf = bufs[0];
    let filled = 0;
    let writing: Promise<void> | undefined;
    const flush = async () => {
      const w = writing;
      writing = undefined;
      await w;
    };
    try {
      while (true) {
        const n = await conn.read(buf.subarray(filled));
        if (n === null) break;
        received += n;
        filled += n;
        if (received > limit) throw new FileTooLargeError(limit);
        if (expected >= 0 && received > expected) {
          throw new TransferIncompleteError(expected, received);
        }
        if (filled > BUFFER - UPLOAD_SLACK) {
          await flush();
          writing = file.write(buf.subarray(0, filled));
          writing.catch(() => {}); // awaited by the next flush; not unhandled meanwhile
          buf = buf === bufs[0] ? bufs[1] : bufs[0];
          filled = 0;
        }
      }
    } catch (e) {
      await writing?.catch(() => {}); // the read's error is the one to report
      throw e;
    }
    await flush();
    if (filled) await file.write(buf.subarray(0, filled));
    if (expected >= 0 && received !== expected) {
      throw new TransferIncompleteError(expected, received);
    }
    if (options.sync) await file.sync();
    await file.close();
    await rename(part, target);
  } catch (e) {
    await file?.close();
    await removeQuietly(part);
    throw e;
  }
}

async function serve(conn: DataConn, args: DownloadFileArgs, rootReal: string): Promise<void> {
  const { path } = await confine(rootReal, args.fileName);
  const file = await openRead(path);
  // The next piece is read from the file while the socket takes the last one (two buffers).
  const bufs = [new Uint8Array(BUFFER), new Uint8Array(BUFFER)];
  let next: Promise<number | null> | undefined = file.read(bufs[0]);
  try {
    for (let i = 0;; i ^= 1) {
      const n: number | null = await next;
      next = undefined;
      if (n === null) break;
      next = file.read(bufs[i ^ 1]);
      next.catch(() => {}); // awaited next turn (or below); not unhandled meanwhile
      await conn.write(bufs[i].subarray(0, n));
    }
  } finally {
    await next?.catch(() => {});
    await file.close();
  }
}

/**
 * Handlers of {@linkcode FileTransfer} confined to the directory `root`: spread them into its
 * options. With uploads on, a missing `root` is created with its parents (`mkdir -p`, mode
 * 0o755) at the first upload or download; with downloads alone it is not, and a download from
 * it is a {@linkcode FileNotFoundError} naming the requested file.
 *
 * - Uploads: the name must be one plain path element (no `/`, `\`, `..`, NUL; at most 255
 *   bytes), checked in the `TransferFile` call. The bytes go to a hidden `.name.<random>.part`
 *   file in `root`, which takes the name (replacing a file there) only once all the announced
 *   `FileSize` bytes came; on any failure (the caller disconnects or stalls, more or fewer
 *   bytes than announced, the disk fills, `maxFileSize`) it is removed, nothing half-written
 *   is left. A size of -1 (unknown) takes whatever comes until the caller ends.
 * - Downloads: a relative path under `root` with no `..` element, not absolute, whose real
 *   path (symlinks resolved) stays inside `root` and is a regular file; checked in the
 *   `DownloadFile` call (the caller gets {@linkcode FileNameNotAllowedError} or
 *   {@linkcode FileNotFoundError} — a Go caller their text — and no token), and again when the
 *   connection comes. Its size goes to Deno callers.
 *
 * @example
 * ```ts
 * import { Server } from "@rpcx/core";
 * import { directoryHandlers, enableFileTransfer, FileTransfer } from "@rpcx/core/stream";
 * const root = await Deno.makeTempDir();
 * const ft = new FileTransfer({ ...directoryHandlers(root, { maxFileSize: 2 ** 30 }) });
 * await enableFileTransfer(new Server(), ft);
 * await ft.close();
 * ```
 */
export function directoryHandlers(
  root: string,
  options: DirectoryOptions = {},
): Pick<FileTransferOptions, "handler" | "downloadHandler" | "checkUpload" | "checkDownload"> {
  const uploads = options.uploads ?? true;
  let rootReal: Promise<string> | undefined;
  // With uploads on, a missing `root` is created (`mkdir -p`) at the first use, as a Go server
  // makes its upload folder; downloads alone never create it.
  const real = () => (rootReal ??= (async () => {
    if (uploads) await makeDirectory(root);
    return await realPath(root);
  })().catch((e) => {
    rootReal = undefined;
    throw e;
  }));
  // A download from a missing `root` is the requested file not found (never `root`'s path).
  const downloadRoot = (name: string) =>
    real().catch((e) => {
      throw e instanceof FileNotFoundError ? new FileNotFoundError(name, { cause: e }) : e;
    });
  const out: ReturnType<typeof directoryHandlers> = {};
  if (uploads) {
    out.checkUpload = (args) => {
      uploadName(args.fileName);
      const limit = options.maxFileSize ?? Infinity;
      if (args.fileSize > limit) throw new FileTooLargeError(limit);
    };
    out.handler = async (conn, args) => store(conn, args, await real(), options);
  }
  if (options.downloads ?? true) {
    out.checkDownload = async (args) =>
      (await confine(await downloadRoot(args.fileName), args.fileName)).size;
    out.downloadHandler = async (conn, args) =>
      serve(conn, args, await downloadRoot(args.fileName));
  }
  return out;
}
