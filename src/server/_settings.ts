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
import { serviceErrorText } from "./_error_text.ts";
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
