/**
 * A server's options with their defaults filled in, in the shapes its parts take: the decode
 * limits and framing of its connections (the wire codec chosen here), their timeouts, and how
 * errors are reported and written on the wire.
 *
 * @module
 */
import { logger } from "../log/logger.ts";
import { DEFAULT_DECODE_LIMITS } from "../protocol/message.ts";
import { loadWireCodec } from "../native/wire_codec.ts";
import type { FramedConnectionOptions } from "../transport/framed_options.ts";
import type { ServerOptions } from "./options.ts";
import type { ConnectionTimeouts } from "./_connection.ts";

/**
 * Bytes of answers (and pushes) a connection may have waiting to be written before the server
 * stops reading it (`ServerOptions.maxWriteBacklog`): 4 MiB.
 */
export const DEFAULT_WRITE_BACKLOG = 4 * 1024 * 1024;

/** See {@linkcode serverSettings}. */
export interface ServerSettings {
  /** Decode limits and the batch encoder every connection's framing shares. */
  readonly frame: FramedConnectionOptions & { readonly maxMessageLength: number };
  /** Timeouts that close a connection (ms, 0: none). */
  readonly timeouts: ConnectionTimeouts;
  /** Where errors with no caller go (`onError`; default: a warning to the logger). */
  readonly onError: (where: string, error: unknown) => void;
  /** An error's text on the wire (`errorText`; default: its message). */
  readonly errorText: (error: unknown) => string;
}

/** Longest text of a thrown non-Error value made into JSON, in characters. */
export const MAX_THROWN_TEXT = 1024;

/**
 * The default `__rpcx_error__` text of what a method threw, as Go writes `err.Error()`: an
 * Error's message; a string as it is; an object's `message` when that is a string, else its
 * JSON text (those two at most {@linkcode MAX_THROWN_TEXT} characters); anything else as
 * `String(e)`, or `[object Object]`-style when even that throws.
 */
export function serviceErrorText(e: unknown): string {
  // Never throws: a getter, a toJSON or a prototype-less object must not end the server.
  try {
    if (e instanceof Error) return e.message;
    if (typeof e === "string") return e;
    if (typeof e === "object" && e !== null) {
      const message = (e as { message?: unknown }).message;
      if (typeof message === "string") return bounded(message);
      let json: string | undefined;
      try {
        json = JSON.stringify(e, (_k, v) => typeof v === "bigint" ? v.toString() : v);
      } catch {
        // a cycle, or a toJSON that throws
      }
      if (json !== undefined) return bounded(json);
    }
    return String(e);
  } catch {
    return Object.prototype.toString.call(e);
  }
}

/** `text` cut to {@linkcode MAX_THROWN_TEXT} characters (not inside a surrogate pair). */
function bounded(text: string): string {
  if (text.length <= MAX_THROWN_TEXT) return text;
  let end = MAX_THROWN_TEXT;
  const c = text.charCodeAt(end - 1);
  if (c >= 0xd800 && c <= 0xdbff) end--;
  return `${text.slice(0, end)}…`;
}

/** The settings of a server created with `options`. */
export function serverSettings(options: ServerOptions): ServerSettings {
  const wire = loadWireCodec(options.wireCodec ?? "auto");
  return {
    frame: {
      maxMessageLength: options.maxMessageLength ?? DEFAULT_DECODE_LIMITS.maxMessageLength,
      maxDecompressedLength: options.maxDecompressedLength ??
        DEFAULT_DECODE_LIMITS.maxDecompressedLength,
      gunzip: options.gunzip ??
        (wire.implementations.gunzip === "native" ? wire.gunzip : undefined),
      encodeBatch: options.encodeBatch ??
        (wire.name === "native" ? wire.encodeMessages : undefined),
      maxWriteBacklog: Math.max(options.maxWriteBacklog ?? DEFAULT_WRITE_BACKLOG, 0),
    },
    timeouts: {
      read: Math.max(options.readTimeout ?? 0, 0),
      write: Math.max(options.writeTimeout ?? 0, 0),
      idle: Math.max(options.idleTimeout ?? 0, 0),
    },
    onError: options.onError ??
      ((where, e) =>
        logger().warn(`rpcx server: ${where}`, {
          error: e instanceof Error ? e.message : String(e),
        })),
    errorText: options.errorText ?? serviceErrorText,
  };
}
