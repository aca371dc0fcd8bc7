/**
 * Avoids a crash of Deno's `node:http2` (seen on Deno 2.9.5 and 2.9.6; upstream
 * denoland/deno#36788): a client session is closed or destroyed from inside nghttp2's handling of
 * a received frame, and nghttp2 then reads the memory that freed. Once that memory has been
 * reused (after a garbage collection) the process aborts on nghttp2's `find_stream_on_goaway_func`
 * assertion (exit 134) or segfaults (139). etcd sends a GOAWAY when it stops or restarts (in about
 * 1 restart in 8, racing its close of the connection), so this could take down the Deno process of
 * every rpcx server and client connected to it, and of any other `@grpc/grpc-js` user (issue 26,
 * README "etcd and Deno's `node:http2`").
 *
 * Two calls do it, both inside the GOAWAY callback: `@grpc/grpc-js`'s `"goaway"` listener shuts
 * its transport down (`session.close()`), and Deno's own handler closes the session right after
 * emitting `"goaway"`. {@linkcode guardHttp2Sessions} makes every client session that
 * `node:http2`'s `connect` opens from then on (in this process) through the module object
 * (`require("node:http2").connect`, as grpc-js calls it, or the default import's; an ESM named
 * import `connect` or a namespace import is a binding of its own, not replaced):
 *
 * - emit `"goaway"` to its listeners in a microtask, once nghttp2 is done with the frame;
 * - run `close()` and `destroy()` called while nghttp2 is on the stack (the session's native
 *   handle is in `receive`, `sendPending` or `getOutgoingChunk`, or a `"goaway"` is being emitted)
 *   in a microtask, once it has returned. Any nghttp2 callback (GOAWAY, a stream's close that
 *   ends a closing session, a frame or session error) is covered, whoever calls.
 *
 * Measured (2026-12-06, Deno 2.9.6, glibc's `MALLOC_PERTURB_=165` so that a read of freed memory
 * crashes at once), with only the `"goaway"` deferral → with both: grpc-js calls, `gc()`, a
 * server's GOAWAY: 6 of 6 runs crashed → 0 of 6; a plain `etcd3` client across 5 etcd restarts:
 * 3 of 10 processes → 0 of 10; an `EtcdDiscovery` and a plain client across 8 restarts: a crash
 * within 3 restarts in 7 of 7 runs → none in 6 runs. Without `MALLOC_PERTURB_` the deferral alone
 * had taken the first case from 5 of 10 to 0 of 12, but not etcd's restarts (README). Only on
 * Deno; a no-op on Node and Bun, and after the first call in the process (by any copy of this
 * module).
 *
 * @module
 */
import http2 from "node:http2";
import { detectRuntime } from "../runtime/mod.ts";

/**
 * Marks `node:http2` once guarded: by the module object, not a variable of this module, so that
 * two copies of it in one process (two versions of @rpcx/core, or the npm form beside the
 * source) patch it once.
 */
const INSTALLED = Symbol.for("@rpcx/core http2 GOAWAY guard");

/** The native handle's methods that run nghttp2 (`nghttp2_session_mem_recv`/`mem_send`). */
const NGHTTP2_ENTRIES = ["receive", "sendPending", "getOutgoingChunk"] as const;

/** See the module doc. Idempotent; only on Deno. */
export function guardHttp2Sessions(): void {
  // the runtime itself, not the adapter in use (setRuntime may pick Node's under Deno)
  const marked = http2 as unknown as Record<symbol, boolean>;
  if (marked[INSTALLED] || detectRuntime().name !== "deno") return;
  marked[INSTALLED] = true;
  const connect = http2.connect;
  const patched = function (this: unknown, ...args: unknown[]) {
    const session = (connect as (...a: unknown[]) => http2.ClientHttp2Session).apply(this, args);
    guard(session);
    return session;
  };
  (http2 as { connect: typeof http2.connect }).connect = patched as typeof http2.connect;
}

type Fn = (...a: unknown[]) => unknown;

function guard(session: http2.ClientHttp2Session): void {
  let inside = 0; // nghttp2 frames on the stack (hooked handle methods, a "goaway" being emitted)
  let hooked = false;
  // Deno keeps the native handle under Symbol(kHandle) once the socket is connected; without it
  // (another Deno) the "goaway" window below still covers the GOAWAY case.
  const hookHandle = () => {
    if (hooked) return;
    const key = Object.getOwnPropertySymbols(session).find((s) => s.description === "kHandle");
    const handle = key && (session as unknown as Record<symbol, Record<string, unknown>>)[key];
    if (!handle || typeof handle !== "object") return;
    hooked = true;
    for (const name of NGHTTP2_ENTRIES) {
      const method = handle[name];
      if (typeof method !== "function") continue;
      handle[name] = function (this: unknown, ...a: unknown[]) {
        inside++;
        try {
          return (method as Fn).apply(this, a);
        } finally {
          inside--;
        }
      };
    }
  };
  const emit = session.emit as Fn;
  session.emit = function (
    this: http2.ClientHttp2Session,
    name: string | symbol,
    ...rest: unknown[]
  ) {
    hookHandle();
    if (name !== "goaway") return emit.call(this, name, ...rest);
    // Deno's handler closes the session right after this emit, still inside nghttp2
    inside++;
    queueMicrotask(() => inside--);
    queueMicrotask(() => emit.call(this, name, ...rest));
    return this.listenerCount(name) > 0;
  } as typeof session.emit;
  for (const name of ["close", "destroy"] as const) {
    const method = session[name] as Fn;
    (session as unknown as Record<string, Fn>)[name] = function (this: unknown, ...a: unknown[]) {
      if (inside === 0) return method.apply(this, a);
      queueMicrotask(() => method.apply(this, a));
    };
  }
}
