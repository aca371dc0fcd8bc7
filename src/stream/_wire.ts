/**
 * What goes on the wire besides raw bytes: Go's argument and reply structs as each codec writes
 * them, and the status frames a Deno server and a Deno client add when both ask for them.
 *
 * Go's structs (share.FileTransferArgs, DownloadFileArgs, StreamServiceArgs,
 * FileTransferReply/StreamServiceReply): MsgPack (vmihailenco, Go's default) keys them by field
 * name (`FileName`, `FileSize`, `Meta`; `Token` as bin, `Addr`); JSON by tag (`file_name`,
 * `file_size`, `meta`, `token` as base64, `addr`, each omitted when empty).
 *
 * Status frames (beyond Go): a client sends request metadata `__DataStatus=1`; a Deno server
 * answers with the same key in the reply metadata (a Go server does not, and nothing changes)
 * and marks the token. Then on the data connection the server writes a status after reading the
 * token (accepted or refused), and for an upload another one once the file is stored (or could
 * not be). A status is one byte `0` (ok), or `1` followed by a big-endian uint32 length and that
 * many bytes of UTF-8 JSON `{"error": class name, "message": text, ...fields}`.
 *
 * @module
 */
import { SerializeType } from "../protocol/constants.ts";
import type { Conn } from "./_conn.ts";
import {
  ArgsTooLargeError,
  DataConnectionError,
  DiskFullError,
  FileNameNotAllowedError,
  FileNotFoundError,
  FileTooLargeError,
  StreamError,
  StreamNotAcceptedError,
  TokenError,
  type TokenRefusal,
  TransferFailedError,
  TransferIncompleteError,
} from "./errors.ts";

/** Go's `share.SendFileServiceName`. */
export const SEND_FILE_SERVICE_NAME = "_filetransfer";
/** Go's `share.StreamServiceName`. */
export const STREAM_SERVICE_NAME = "_streamservice";
/** Request/reply metadata key: status frames asked for / granted. */
export const STATUS_META = "__DataStatus";
/** Reply metadata key of a download: the file's size in bytes, when the server knows it. */
export const SIZE_META = "__FileSize";
/** Reply metadata key of a refused call: the typed error as status JSON. */
export const ERROR_META = "__DataError";

/** Request metadata, for the handlers: string keys and values. */
export type Meta = Record<string, string>;

function str(v: unknown): string {
  return typeof v === "string" ? v : "";
}
function num(v: unknown): number {
  if (typeof v === "bigint") return Number(v);
  return typeof v === "number" && Number.isFinite(v) ? v : 0;
}
function meta(v: unknown): Meta {
  const out: Meta = {};
  if (v && typeof v === "object" && !(v instanceof Uint8Array)) {
    for (const [k, x] of Object.entries(v)) if (typeof x === "string") out[k] = x;
  }
  return out;
}
function field(o: unknown, goName: string, jsonName: string): unknown {
  if (!o || typeof o !== "object") return undefined;
  const r = o as Record<string, unknown>;
  return r[goName] ?? r[jsonName];
}

/** Args of an upload call: Go's `share.FileTransferArgs`. */
export interface FileTransferArgs {
  /** The file's name (Go's client sends the base name of its path). */
  fileName: string;
  /** Its size in bytes (-1: unknown, sent by a Deno client uploading a stream of unknown size). */
  fileSize: number;
  /** The caller's metadata. */
  meta: Meta;
}

/** Args of a download call: Go's `share.DownloadFileArgs`. */
export interface DownloadFileArgs {
  /** The name asked for. */
  fileName: string;
  /** The caller's metadata. */
  meta: Meta;
}

/** Args of a stream call: Go's `share.StreamServiceArgs`. */
export interface StreamServiceArgs {
  /** The caller's metadata. */
  meta: Meta;
}

/** Decodes Go's FileTransferArgs in either codec's shape. */
export function readUploadArgs(raw: unknown): FileTransferArgs {
  return {
    fileName: str(field(raw, "FileName", "file_name")),
    fileSize: num(field(raw, "FileSize", "file_size")),
    meta: meta(field(raw, "Meta", "meta")),
  };
}

/** Decodes Go's DownloadFileArgs in either codec's shape. */
export function readDownloadArgs(raw: unknown): DownloadFileArgs {
  return {
    fileName: str(field(raw, "FileName", "file_name")),
    meta: meta(field(raw, "Meta", "meta")),
  };
}

/** Decodes Go's StreamServiceArgs in either codec's shape. */
export function readStreamArgs(raw: unknown): StreamServiceArgs {
  return { meta: meta(field(raw, "Meta", "meta")) };
}

/** The codec name of serialize type `st`; TypeError unless MsgPack or JSON (what Go's structs encode in). */
export function checkCodec(st: number): "msgpack" | "json" {
  if (st === SerializeType.MsgPack) return "msgpack";
  if (st === SerializeType.JSON) return "json";
  throw new TypeError(`rpcx: the data services speak MsgPack or JSON, not serialize type ${st}`);
}

/** Go's FileTransferArgs as serialize type `st` writes it. */
export function uploadArgs(st: number, a: FileTransferArgs, m: Meta | undefined): unknown {
  if (checkCodec(st) === "msgpack") {
    return { FileName: a.fileName, FileSize: a.fileSize, Meta: m ?? null };
  }
  const o: Record<string, unknown> = {};
  if (a.fileName) o.file_name = a.fileName;
  if (a.fileSize) o.file_size = a.fileSize;
  if (m && Object.keys(m).length) o.meta = m;
  return o;
}

/** Go's DownloadFileArgs as serialize type `st` writes it. */
export function downloadArgs(st: number, fileName: string, m: Meta | undefined): unknown {
  if (checkCodec(st) === "msgpack") return { FileName: fileName, Meta: m ?? null };
  const o: Record<string, unknown> = {};
  if (fileName) o.file_name = fileName;
  if (m && Object.keys(m).length) o.meta = m;
  return o;
}

/** Go's StreamServiceArgs as serialize type `st` writes it. */
export function streamArgs(st: number, m: Meta | undefined): unknown {
  if (checkCodec(st) === "msgpack") return { Meta: m ?? null };
  return m && Object.keys(m).length ? { meta: m } : {};
}

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

function base64(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

function unbase64(text: string): Uint8Array {
  for (const c of text) {
    if (!B64.includes(c) && c !== "=") throw new TypeError("token is not base64");
  }
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

/** Go's FileTransferReply / StreamServiceReply as serialize type `st` writes it. */
export function tokenReply(st: number, token: Uint8Array, addr: string): unknown {
  if (checkCodec(st) === "msgpack") return { Token: token, Addr: addr };
  const o: Record<string, unknown> = { token: base64(token) };
  if (addr) o.addr = addr;
  return o;
}

/** Reads a token reply in either codec's shape. Throws DataConnectionError when malformed. */
export function readTokenReply(raw: unknown): { token: Uint8Array; addr: string } {
  const t = field(raw, "Token", "token");
  const addr = str(field(raw, "Addr", "addr"));
  let token: Uint8Array | undefined;
  if (t instanceof Uint8Array) token = t;
  else if (typeof t === "string") {
    try {
      token = unbase64(t);
    } catch {
      // below
    }
  }
  if (!token || !addr) {
    throw new DataConnectionError("rpcx: the server's reply has no token or no address");
  }
  return { token, addr };
}

// ---- typed errors as JSON (status frames and refused calls) ----

/** A typed error as JSON text. */
export function errorJson(e: unknown): string {
  const o: Record<string, unknown> = {
    error: e instanceof StreamError ? e.name : "TransferFailedError",
    message: e instanceof Error ? e.message : String(e),
  };
  if (e instanceof TokenError) o.reason = e.reason;
  if (e instanceof FileTooLargeError) o.limit = e.limit;
  if (e instanceof ArgsTooLargeError) {
    o.size = e.size;
    o.limit = e.limit;
  }
  if (e instanceof TransferIncompleteError) {
    o.expected = e.expected;
    o.received = e.received;
  }
  if (e instanceof FileNameNotAllowedError || e instanceof FileNotFoundError) {
    o.fileName = e.fileName;
  }
  return JSON.stringify(o);
}

/** The typed error of JSON text from the peer (`remote` true). */
export function errorOf(text: string): StreamError {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(text);
  } catch {
    return new TransferFailedError(text, { remote: true });
  }
  const remote = { remote: true };
  const message = str(o.message);
  switch (o.error) {
    case "TokenError":
      return new TokenError(str(o.reason) as TokenRefusal, remote);
    case "DiskFullError":
      return new DiskFullError(message, remote);
    case "FileTooLargeError":
      return new FileTooLargeError(num(o.limit), remote);
    case "ArgsTooLargeError":
      return new ArgsTooLargeError(num(o.size), num(o.limit), remote);
    case "TransferIncompleteError":
      return new TransferIncompleteError(num(o.expected), num(o.received), remote);
    case "FileNameNotAllowedError":
      return new FileNameNotAllowedError(str(o.fileName), remote);
    case "FileNotFoundError":
      return new FileNotFoundError(str(o.fileName), remote);
    case "StreamNotAcceptedError":
      return new StreamNotAcceptedError(remote);
    case "DataConnectionError":
      return new DataConnectionError(message, remote);
    default:
      return new TransferFailedError(message, remote);
  }
}

// ---- status frames ----

const OK = Uint8Array.of(0);
const MAX_STATUS = 64 * 1024;

/** A status frame: ok (`error` undefined) or the error. */
export function statusFrame(error?: unknown): Uint8Array {
  if (error === undefined) return OK;
  const body = new TextEncoder().encode(errorJson(error));
  const out = new Uint8Array(5 + body.byteLength);
  out[0] = 1;
  new DataView(out.buffer).setUint32(1, body.byteLength);
  out.set(body, 5);
  return out;
}

/**
 * Reads one status frame: undefined for ok, the peer's typed error otherwise. Throws
 * DataConnectionError when the connection ends first or the frame is malformed.
 */
export async function readStatus(conn: Conn): Promise<StreamError | undefined> {
  const head = new Uint8Array(1);
  if (await conn.readFull(head) < 1) {
    throw new DataConnectionError("rpcx: the server closed the data connection without a status");
  }
  if (head[0] === 0) return undefined;
  const len = new Uint8Array(4);
  const n = head[0] === 1 ? await conn.readFull(len) : 0;
  const size = new DataView(len.buffer).getUint32(0);
  if (n < 4 || size > MAX_STATUS) {
    throw new DataConnectionError("rpcx: malformed status frame on the data connection");
  }
  const body = new Uint8Array(size);
  if (await conn.readFull(body) < size) {
    throw new DataConnectionError("rpcx: status frame cut short");
  }
  return errorOf(new TextDecoder().decode(body));
}
