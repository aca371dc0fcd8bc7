/**
 * Reading a request body on the HTTP side, bounded in size (413 beyond) and in time (408).
 *
 * @module
 */
import type http from "node:http";
import { RpcxError } from "../protocol/errors.ts";

/** A body that could not be read within its bounds: answered with `status` and closed. */
export class BodyError extends RpcxError {
  /** An error answered with HTTP `status` and `message`. */
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** Bounds of one body. */
export interface BodyBounds {
  /** Most bytes (the server's `maxMessageLength`). */
  readonly maxBody: number;
  /** Time for the whole body, in ms (used when no {@linkcode BodyClock} is given). */
  readonly timeout: number;
}

/**
 * Times a body elsewhere (the HTTP side's one watchdog timer for all its connections) instead of
 * a timer per body: `start` when the body is awaited, with what fails the read (408); `stop`
 * once it is read or failed.
 */
export interface BodyClock {
  /** The body is awaited from now; `fail` rejects the read. */
  start(fail: (e: BodyError) => void): void;
  /** The read is over. */
  stop(): void;
}

/** A body that is not read in time. */
export const bodyTimeout = (): BodyError => new BodyError(408, "request body not received in time");

/**
 * Reads a request body, bounded in size and time (by `clock` when given, else by a timer of its
 * own); rejects with {@linkcode BodyError} (413, 408) or the stream's error. `contentLength` is
 * the request's Content-Length header (undefined: none).
 */
export function readBody(
  req: http.IncomingMessage,
  bounds: BodyBounds,
  contentLength: string | undefined,
  clock?: BodyClock,
): Promise<Uint8Array> {
  const { maxBody } = bounds;
  const declared = Number(contentLength ?? "0");
  if (declared > maxBody) {
    return Promise.reject(
      new BodyError(413, `request body of ${declared} bytes exceeds ${maxBody}`),
    );
  }
  return new Promise((resolve, reject) => {
    // The body goes into one buffer that grows (doubling, up to the declared length) as bytes
    // arrive: memory follows what was received, not what was declared, and no list of
    // chunks is joined at the end.
    const cap = contentLength !== undefined ? declared : maxBody;
    let buf = new Uint8Array(Math.min(cap, 64 * 1024));
    let size = 0;
    const fail = (e: BodyError) => {
      cleanup();
      reject(e);
    };
    let timer: ReturnType<typeof setTimeout> | undefined;
    if (clock) clock.start(fail);
    else timer = setTimeout(() => fail(bodyTimeout()), bounds.timeout);
    const onData = (c: Uint8Array) => {
      const need = size + c.byteLength;
      if (need > maxBody) {
        cleanup();
        reject(new BodyError(413, `request body exceeds ${maxBody} bytes`));
        return;
      }
      if (need > buf.byteLength) {
        const grown = new Uint8Array(Math.max(need, Math.min(cap, buf.byteLength * 2)));
        grown.set(buf.subarray(0, size));
        buf = grown;
      }
      buf.set(c, size);
      size = need;
    };
    const onEnd = () => {
      cleanup();
      resolve(size === buf.byteLength ? buf : buf.slice(0, size));
    };
    const onError = (e: Error) => {
      cleanup();
      reject(e);
    };
    const cleanup = () => {
      if (clock) clock.stop();
      else clearTimeout(timer);
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
    };
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onError);
  });
}

/** Reads and drops a request body (within the same bounds), so the connection can go on. */
export async function discardBody(
  req: http.IncomingMessage,
  bounds: BodyBounds,
  contentLength: string | undefined,
  clock?: BodyClock,
): Promise<void> {
  await readBody(req, bounds, contentLength, clock).catch(() => {});
}
