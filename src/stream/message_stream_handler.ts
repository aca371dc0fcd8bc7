/**
 * The server's side of a typed message stream: {@linkcode messageStreamHandler} turns a
 * {@linkcode MessageHandler} into a {@linkcode StreamService} handler.
 *
 * @module
 */
import { defaultCodecs } from "../codec/registry.ts";
import type { DataConnInfo } from "./_data_server.ts";
import type { StreamServiceArgs } from "./_wire.ts";
import { StreamError } from "./errors.ts";
import { MessageStream, type MessageStreamOptions } from "./message_stream.ts";
import type { StreamHandler } from "./stream_service.ts";

/**
 * A message stream handler: gets the stream (iterate it for what the caller sends, `send` to
 * answer) and may return an (async) iterable whose items are sent in order before the stream
 * ends. Throwing ends the stream with an error frame ({@linkcode RemoteStreamError} at the
 * caller).
 *
 * @example
 * ```ts
 * import { FailMode, Peer2PeerDiscovery, SelectMode, Server, XClient } from "@rpcx/core";
 * import {
 *   enableStreamService,
 *   type MessageHandler,
 *   messageStreamHandler,
 *   openMessageStream,
 *   StreamService,
 * } from "@rpcx/core/stream";
 * const double: MessageHandler<number, number> = async function* (messages) {
 *   for await (const n of messages) yield 2 * n;
 * };
 * const server = new Server();
 * const ss = new StreamService({ handler: messageStreamHandler(double) });
 * await enableStreamService(server, ss);
 * const xclient = new XClient("_streamservice", FailMode.Failtry, SelectMode.RandomSelect,
 *   new Peer2PeerDiscovery(`tcp@${await server.serve("tcp", "127.0.0.1:0")}`));
 * const s = await openMessageStream<number, number>(xclient);
 * await s.send(21);
 * console.log((await s.next()).value); // 42
 * await s.end();
 * await xclient.close();
 * await server.close();
 * await ss.close();
 * ```
 */
export type MessageHandler<Receive, Send> = (
  messages: MessageStream<Send, Receive>,
  args: StreamServiceArgs,
  info: DataConnInfo,
) => AsyncIterable<Send> | Iterable<Send> | void | Promise<void>;

function isIterable<T>(v: unknown): v is AsyncIterable<T> | Iterable<T> {
  return v != null && typeof v === "object" &&
    (Symbol.asyncIterator in v || Symbol.iterator in v);
}

/**
 * A {@linkcode StreamHandler} for {@linkcode StreamService} that speaks typed messages: frames
 * with the codec of the caller's `Stream` call (or `options.codec`), runs `handler`, sends
 * what it returns, ends our direction and reads the caller's rest (bounded: 5 s) before
 * closing.
 *
 * @example
 * ```ts
 * import { Server } from "@rpcx/core";
 * import { enableStreamService, messageStreamHandler, StreamService } from "@rpcx/core/stream";
 * const echo = messageStreamHandler<unknown, unknown>(async function* (messages) {
 *   yield* messages;
 * });
 * const ss = new StreamService({ handler: echo });
 * await enableStreamService(new Server(), ss);
 * await ss.close();
 * ```
 */
export function messageStreamHandler<Receive, Send>(
  handler: MessageHandler<Receive, Send>,
  options: Omit<MessageStreamOptions, "signal"> = {},
): StreamHandler {
  return async (conn, args, info) => {
    const codec = options.codec ?? defaultCodecs.get(info.serializeType);
    const ms = new MessageStream<Send, Receive>(conn, codec, options);
    try {
      const out = await handler(ms, args, info);
      if (isIterable<Send>(out)) await ms.sendAll(out);
      await ms.finish();
    } catch (e) {
      await ms.abort(
        e instanceof StreamError ? e : new StreamError(String((e as Error)?.message ?? e)),
      );
      throw e;
    }
  };
}
