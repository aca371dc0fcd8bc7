/**
 * Tee: a copy of every byte clients send to the server, to a writer (Go:
 * `serverplugin.NewTeeConnPlugin`, rpcx-examples `tcpcopy`): a log of the traffic, or its
 * replay on another server (shadow traffic).
 *
 * @example
 * ```ts
 * import { Server } from "@rpcx/core";
 * import { TeeConnPlugin } from "@rpcx/core/plugins/tee";
 * const seen: Uint8Array[] = [];
 * new Server().use(new TeeConnPlugin({ write: (b: Uint8Array) => void seen.push(b) }));
 * ```
 *
 * @module
 */
import type { ConnInfo, ServerPlugin } from "../server/plugin.ts";
import type { Connection } from "../transport/network.ts";

/**
 * Where copied bytes go: anything with `write(bytes)` (Go's `io.Writer`): a
 * `WritableStreamDefaultWriter`, a `node:net` socket, `Deno.stdout`, an array's `push`... A
 * `write` that returns a promise is awaited before the server reads on (as Go's blocking
 * `Write`); one that resolves with a number of bytes below the chunk's length is called again
 * with the rest (a `Connection`, `Deno.stdout`). Its errors are ignored, as Go ignores them.
 * The bytes passed are a copy the writer may keep.
 *
 * @example
 * ```ts
 * import type { TeeWriter } from "@rpcx/core/plugins/tee";
 * const chunks: Uint8Array[] = [];
 * const w: TeeWriter = { write: (b) => void chunks.push(b) };
 * w.write(new Uint8Array([8, 9]));
 * console.log(chunks.length); // 1
 * ```
 */
export interface TeeWriter {
  /** Takes one chunk of what a client sent. */
  write(bytes: Uint8Array): unknown;
  /** For a writer made per connection: called when that connection closes. */
  close?(): unknown;
}

/**
 * The tee's target: one writer for every connection (Go's form: chunks of different
 * connections interleave in it, each chunk whole), or a function that makes a writer per
 * connection (e.g. a connection of its own to another server, so each stream of frames stays
 * intact; closed when the client's connection closes). Undefined: copy nothing.
 */
export type TeeTarget = TeeWriter | ((conn: ConnInfo) => TeeWriter) | undefined;

/**
 * Copies what every client sends to a {@linkcode TeeTarget} (Go: `serverplugin.TeeConnPlugin`,
 * a `PostConnAccept` that wraps the connection): its `connAccept` returns the connection wrapped
 * so that each read also goes to the writer. {@linkcode TeeConnPlugin.update} changes the
 * target (Go: `Update`): a shared writer for every connection at once, a per-connection one for
 * the connections accepted from then on. On `inprocess` (a pipe) the wrapped end is read as
 * bytes, so the copy is rpcx frames there too.
 *
 * @example
 * ```ts
 * import { Server } from "@rpcx/core";
 * import { TeeConnPlugin } from "@rpcx/core/plugins/tee";
 * import { connect } from "node:net";
 * // Every client's bytes also go to a shadow server, one connection per client.
 * const tee = new TeeConnPlugin(() => {
 *   const s = connect(8973, "127.0.0.1").on("error", () => {}).resume(); // its replies dropped
 *   return { write: (b: Uint8Array) => s.write(b), close: () => s.destroy() };
 * });
 * new Server().use(tee);
 * ```
 */
export class TeeConnPlugin implements ServerPlugin {
  /** For logs. */
  readonly name = "tee";
  #target: TeeTarget;

  /** Copies to `target`. */
  constructor(target: TeeTarget) {
    this.#target = target;
  }

  /** Copies to `target` from now on (undefined: stop copying). Go: `TeeConnPlugin.Update`. */
  update(target: TeeTarget): void {
    this.#target = target;
  }

  /** Wraps each accepted connection (Go: `HandleConnAccept`). */
  connAccept(conn: ConnInfo, socket: Connection): Connection {
    const target = this.#target;
    if (typeof target === "function") return new TeeConnection(socket, target(conn), true);
    // The plugin's writer at each chunk: `update` starts, changes or stops the copy.
    return new TeeConnection(socket, () => {
      const now = this.#target;
      return typeof now === "function" ? undefined : now;
    }, false);
  }
}

/** `conn` with a copy of what it reads written to a writer. */
class TeeConnection implements Connection {
  readonly #conn: Connection;
  /** Its own writer, or the plugin's current one (read at each chunk, as Go's `Update`). */
  readonly #writer: TeeWriter | (() => TeeWriter | undefined);
  readonly #owned: boolean;
  /** Writes in order, one chunk at a time. */
  #queue: Promise<void> = Promise.resolve();

  constructor(
    conn: Connection,
    writer: TeeWriter | (() => TeeWriter | undefined),
    owned: boolean,
  ) {
    this.#conn = conn;
    this.#writer = writer;
    this.#owned = owned;
  }

  get network(): string {
    return this.#conn.network;
  }
  get localAddress(): string {
    return this.#conn.localAddress;
  }
  get remoteAddress(): string {
    return this.#conn.remoteAddress;
  }

  async read(p: Uint8Array): Promise<number | null> {
    const n = await this.#conn.read(p);
    if (n === null || n === 0) return n;
    const w = typeof this.#writer === "function" ? this.#writer() : this.#writer;
    if (!w) return n;
    const copy = p.slice(0, n);
    const wrote = this.#queue.then(() => writeAll(w, copy));
    this.#queue = wrote;
    await wrote;
    return n;
  }

  write(p: Uint8Array): Promise<number> {
    return this.#conn.write(p);
  }

  close(): void {
    try {
      if (this.#owned) void Promise.resolve((this.#writer as TeeWriter).close?.()).catch(() => {});
    } catch {
      // the writer's trouble
    }
    this.#conn.close();
  }
}

/** Writes all of `bytes` to `w`; never throws (Go ignores the tee's errors). */
async function writeAll(w: TeeWriter, bytes: Uint8Array): Promise<void> {
  try {
    for (let at = 0; at < bytes.length;) {
      const r = await w.write(at === 0 ? bytes : bytes.subarray(at));
      if (typeof r !== "number" || r <= 0) return;
      at += r;
    }
  } catch {
    // ignored, as Go's teeConn ignores it
  }
}
