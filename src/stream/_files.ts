/**
 * The files of `src/stream`, on `node:fs/promises` (the same on Deno, Node and Bun). Paths are
 * handled as POSIX paths.
 *
 * @module
 */
import {
  type FileHandle,
  mkdir,
  open,
  realpath,
  rename as fsRename,
  rm,
  stat as fsStat,
} from "node:fs/promises";
import { DiskFullError, FileNotFoundError } from "./errors.ts";

/** A file open for reading. */
export interface ReadFile {
  /** Reads into `p` (not empty): the count, or null at the end. */
  read(p: Uint8Array): Promise<number | null>;
  /** Closes it. Idempotent. */
  close(): Promise<void>;
}

/** A file open for writing. */
export interface WriteFile {
  /** Writes all of `p`. Throws DiskFullError on ENOSPC/EFBIG/EDQUOT. */
  write(p: Uint8Array): Promise<void>;
  /** Flushes it to the disk. */
  sync(): Promise<void>;
  /** Closes it. Idempotent. */
  close(): Promise<void>;
}

function code(e: unknown): string | undefined {
  return (e as { code?: string })?.code;
}

function diskError(e: unknown): unknown {
  const c = code(e);
  if (c === "ENOSPC" || c === "EFBIG" || c === "EDQUOT") {
    return new DiskFullError(`rpcx: disk full: ${(e as Error).message}`, { cause: e });
  }
  return e;
}

function closer(f: FileHandle): () => Promise<void> {
  let closing: Promise<void> | undefined;
  return () => (closing ??= f.close().catch(() => {}));
}

/** Opens `path` for reading. */
export async function openRead(path: string): Promise<ReadFile> {
  const f = await open(path, "r");
  return {
    async read(p: Uint8Array): Promise<number | null> {
      const { bytesRead } = await f.read(p, 0, p.byteLength, null);
      return bytesRead === 0 ? null : bytesRead;
    },
    close: closer(f),
  };
}

/** Creates `path` (which must not exist) for writing, mode 0644 as Go's `os.Create`. */
export async function createNew(path: string): Promise<WriteFile> {
  const f = await open(path, "wx", 0o644);
  return {
    async write(p: Uint8Array): Promise<void> {
      try {
        for (let o = 0; o < p.byteLength;) {
          o += (await f.write(p, o, p.byteLength - o, null)).bytesWritten;
        }
      } catch (e) {
        throw diskError(e);
      }
    },
    async sync(): Promise<void> {
      try {
        await f.sync();
      } catch (e) {
        throw diskError(e);
      }
    },
    close: closer(f),
  };
}

/** Size and kind of `path` (following symlinks); undefined when it does not exist. */
export async function stat(
  path: string,
): Promise<{ size: number; isFile: boolean } | undefined> {
  try {
    const s = await fsStat(path);
    return { size: s.size, isFile: s.isFile() };
  } catch (e) {
    if (code(e) === "ENOENT" || code(e) === "ENOTDIR") return undefined;
    throw e;
  }
}

/** The canonical path of `path` (symlinks resolved); FileNotFoundError when missing. */
export async function realPath(path: string, name = path): Promise<string> {
  try {
    return await realpath(path);
  } catch (e) {
    if (code(e) === "ENOENT" || code(e) === "ENOTDIR") {
      throw new FileNotFoundError(name, { cause: e });
    }
    throw e;
  }
}

/** Creates the directory `path` and its parents where missing (`mkdir -p`, mode 0o755). */
export async function makeDirectory(path: string): Promise<void> {
  await mkdir(path, { recursive: true, mode: 0o755 });
}

/** Renames `from` to `to` (atomic within a file system; replaces `to`). */
export function rename(from: string, to: string): Promise<void> {
  return fsRename(from, to);
}

/** Removes `path` if it exists; never throws. */
export async function removeQuietly(path: string): Promise<void> {
  await rm(path, { force: true }).catch(() => {});
}

/** The directory of a POSIX path. */
export function dirname(path: string): string {
  const i = path.lastIndexOf("/");
  return i < 0 ? "." : i === 0 ? "/" : path.slice(0, i);
}

/** The last element of a POSIX path (Go's `fi.Name()` of an opened path). */
export function basename(path: string): string {
  const trimmed = path.replace(/\/+$/, "");
  return trimmed.slice(trimmed.lastIndexOf("/") + 1);
}

/** A fresh hidden sibling path of `path` for writing before the rename. */
export function partPath(path: string): string {
  const rnd = crypto.getRandomValues(new Uint8Array(6));
  const tag = Array.from(rnd, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${dirname(path)}/.${basename(path)}.${tag}.part`;
}
