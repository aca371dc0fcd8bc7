/**
 * Avoids a crash of Deno's `node:http2` (seen on Deno 2.9.5 and 2.9.6; upstream
 * denoland/deno#36788): a client session's `"goaway"` event is emitted from inside nghttp2's
 * handling of the GOAWAY frame, before nghttp2 walks the session's streams, and a listener that
 * closes or destroys the session there (as `@grpc/grpc-js` does: its subchannel goes idle and
 * shuts its transport down) frees what nghttp2 then reads. Once the freed memory is reused (after
 * a garbage collection) the process aborts on nghttp2's `find_stream_on_goaway_func` assertion
 * (exit 134) or segfaults (139): an etcd that stops or restarts gracefully could take down the
 * Deno process of every rpcx server and client connected to it (issue 26, README).
 *
 * {@linkcode deferGoawayEvents} makes every client session that `node:http2`'s `connect` opens
 * from then on (in this process) emit `"goaway"` to its listeners in a microtask, once nghttp2
 * has finished with the frame. Only on Deno; a no-op on Node and Bun, and after the first call.
 *
 * @module
 */
import http2 from "node:http2";
import { detectRuntime } from "../runtime/mod.ts";

let installed = false;

/** See the module doc. Idempotent; only on Deno. */
export function deferGoawayEvents(): void {
  // the runtime itself, not the adapter in use (setRuntime may pick Node's under Deno)
  if (installed || detectRuntime().name !== "deno") return;
  installed = true;
  const connect = http2.connect;
  const patched = function (this: unknown, ...args: unknown[]) {
    const session = (connect as (...a: unknown[]) => http2.ClientHttp2Session).apply(this, args);
    const emit = session.emit;
    session.emit = function (
      this: http2.ClientHttp2Session,
      name: string | symbol,
      ...rest: unknown[]
    ) {
      if (name !== "goaway") return emit.call(this, name, ...rest);
      queueMicrotask(() => emit.call(this, name, ...rest));
      return this.listenerCount(name) > 0;
    } as typeof session.emit;
    return session;
  };
  (http2 as { connect: typeof http2.connect }).connect = patched as typeof http2.connect;
}
