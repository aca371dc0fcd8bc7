/**
 * The stream service (Go: `server.NewStreamService` and `Server.EnableStreamService`).
 *
 * @module
 */
import type { CallContext } from "../server/context.ts";
import type { Server } from "../server/server.ts";
import type { DataConn } from "./_conn.ts";
import {
  type DataConnInfo,
  type DataHandler,
  DataService,
  type DataServiceOptions,
  enableDataService,
} from "./_data_server.ts";
import { readStreamArgs, STREAM_SERVICE_NAME, type StreamServiceArgs } from "./_wire.ts";
import { StreamNotAcceptedError } from "./errors.ts";

/**
 * Handles a stream (Go: `StreamHandler`): `conn` carries raw bytes both ways until either side
 * ends. The connection is closed once the returned promise settles.
 *
 * @example
 * ```ts
 * import { FailMode, Peer2PeerDiscovery, SelectMode, Server, XClient } from "@rpcx/core";
 * import { enableStreamService, stream, type StreamHandler, StreamService } from "@rpcx/core/stream";
 * // Go's stream example, with the caller's metadata: echo until the caller closes.
 * const echo: StreamHandler = async (conn, args) => {
 *   await conn.write(new TextEncoder().encode(`${args.meta.name}: `));
 *   await conn.readable.pipeTo(conn.writable);
 * };
 * const server = new Server();
 * const ss = new StreamService({ handler: echo });
 * await enableStreamService(server, ss);
 * const xclient = new XClient("_streamservice", FailMode.Failtry, SelectMode.RandomSelect,
 *   new Peer2PeerDiscovery(`tcp@${await server.serve("tcp", "127.0.0.1:0")}`));
 * const conn = await stream(xclient, { name: "a" });
 * await conn.write(new TextEncoder().encode("hi"));
 * const back = new Uint8Array(5);
 * for (let got = 0; got < back.byteLength;) got += (await conn.read(back.subarray(got))) ?? 0;
 * console.log(new TextDecoder().decode(back)); // a: hi
 * conn.close();
 * await xclient.close();
 * await server.close();
 * await ss.close();
 * ```
 */
export type StreamHandler = DataHandler<StreamServiceArgs>;

/**
 * Decides in the `Stream` call whether a caller may stream (Go: `StreamAcceptor`); false
 * refuses with Go's "server refused the connection" ({@linkcode StreamNotAcceptedError}).
 *
 * @example
 * ```ts
 * import { FailMode, Peer2PeerDiscovery, SelectMode, Server, XClient } from "@rpcx/core";
 * import {
 *   enableStreamService,
 *   stream,
 *   type StreamAcceptor,
 *   StreamNotAcceptedError,
 *   StreamService,
 * } from "@rpcx/core/stream";
 * const onlyFoo: StreamAcceptor = (_ctx, args) => args.meta.foo === "bar";
 * const server = new Server();
 * const ss = new StreamService({ acceptor: onlyFoo, handler: (c) => c.readable.pipeTo(c.writable) });
 * await enableStreamService(server, ss);
 * const xclient = new XClient("_streamservice", FailMode.Failtry, SelectMode.RandomSelect,
 *   new Peer2PeerDiscovery(`tcp@${await server.serve("tcp", "127.0.0.1:0")}`));
 * const refused = await stream(xclient, { foo: "baz" }).catch((e) => e);
 * console.log(refused instanceof StreamNotAcceptedError); // true
 * (await stream(xclient, { foo: "bar" })).close(); // accepted
 * await xclient.close();
 * await server.close();
 * await ss.close();
 * ```
 */
export type StreamAcceptor = (
  ctx: CallContext,
  args: StreamServiceArgs,
) => boolean | Promise<boolean>;

/**
 * Options of {@linkcode StreamService}: Go's `NewStreamService(addr, streamHandler, acceptor,
 * waitNum)`.
 *
 * @example
 * ```ts
 * import type { StreamServiceOptions } from "@rpcx/core/stream";
 * const o: StreamServiceOptions = { handler: (c) => c.readable.pipeTo(c.writable), waitNum: 100 };
 * console.log(o.waitNum);
 * ```
 */
export interface StreamServiceOptions extends DataServiceOptions {
  /** Runs for every stream (Go: `streamHandler`). None: streams are refused. */
  handler?: StreamHandler;
  /** Accepts or refuses a caller before its token (Go: `acceptor`). */
  acceptor?: StreamAcceptor;
}

/**
 * Go's `server.StreamService`: a listener for data connections and the `_streamservice` service
 * (`Stream`) that hands out one-time 32-byte tokens for it. Register it with
 * {@linkcode enableStreamService}; Go's `xclient.Stream` and {@linkcode stream} (raw bytes),
 * or {@linkcode openMessageStream} with {@linkcode messageStreamHandler} (typed messages), use it.
 *
 * @example
 * ```ts
 * import { Server } from "@rpcx/core";
 * import { enableStreamService, StreamService } from "@rpcx/core/stream";
 * const server = new Server();
 * const ss = new StreamService({ handler: (conn) => conn.readable.pipeTo(conn.writable) });
 * await enableStreamService(server, ss);
 * console.log(server.services); // ["_streamservice"]
 * await ss.close();
 * ```
 */
export class StreamService extends DataService<StreamServiceArgs> {
  readonly #options: StreamServiceOptions;
  /** The service registered by {@linkcode enableStreamService}. */
  readonly service: { Stream(args: unknown, ctx: CallContext): Promise<unknown> };

  /** Creates it; it listens on `start()` (or the first call). RangeError on bad bounds. */
  constructor(options: StreamServiceOptions = {}) {
    super(options);
    this.#options = options;
    this.service = { Stream: (args, ctx) => this.#stream(args, ctx) };
  }

  async #stream(raw: unknown, ctx: CallContext): Promise<unknown> {
    const args = readStreamArgs(raw);
    await this.admit(ctx, args, async () => {
      if (!this.#options.handler) throw new StreamNotAcceptedError();
      if (this.#options.acceptor && !(await this.#options.acceptor(ctx, args))) {
        throw new StreamNotAcceptedError();
      }
    });
    return await this.reply(args, ctx);
  }

  /** Runs the handler of a stream's connection (internal). */
  protected async dispatch(
    conn: DataConn,
    args: StreamServiceArgs,
    info: DataConnInfo,
  ): Promise<void> {
    await this.#options.handler?.(conn, args, info);
  }
}

/**
 * Starts `streamService` and registers its service on `server` under `serviceName` (default
 * `_streamservice`, Go's `share.StreamServiceName`). Go: `Server.EnableStreamService`. Close
 * the stream service yourself after the server.
 *
 * @example
 * ```ts
 * import { Server } from "@rpcx/core";
 * import { enableStreamService, StreamService } from "@rpcx/core/stream";
 * const ss = new StreamService({ handler: (c) => c.readable.pipeTo(c.writable) });
 * await enableStreamService(new Server(), ss);
 * await ss.close();
 * ```
 */
export async function enableStreamService(
  server: Server,
  streamService: StreamService,
  serviceName: string = STREAM_SERVICE_NAME,
): Promise<void> {
  await enableDataService(server, streamService, serviceName, STREAM_SERVICE_NAME);
}
