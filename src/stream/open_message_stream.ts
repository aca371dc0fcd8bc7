/**
 * The caller's side of a typed message stream: {@linkcode openMessageStream}.
 *
 * @module
 */
import { defaultCodecs } from "../codec/registry.ts";
import { type DataCaller, serializeTypeOf, type TransferOptions } from "./_client.ts";
import { MessageStream, type MessageStreamOptions } from "./message_stream.ts";
import { openStream } from "./stream.ts";

/**
 * Opens a typed message stream on the `_streamservice` service through `caller` (an XClient made
 * for `_streamservice`): {@linkcode stream}, then framing with the codec of
 * `options.serializeType` (MsgPack by default) unless `options.codec` says otherwise.
 *
 * @throws {StreamError} as {@linkcode stream} does.
 *
 * @example
 * ```ts
 * import { FailMode, Peer2PeerDiscovery, SelectMode, XClient } from "@rpcx/core";
 * import { openMessageStream } from "@rpcx/core/stream";
 * const xclient = new XClient("_streamservice", FailMode.Failtry, SelectMode.RandomSelect,
 *   new Peer2PeerDiscovery("tcp@127.0.0.1:8972"));
 * const ac = new AbortController();
 * try {
 *   const s = await openMessageStream<number, number>(xclient, { signal: ac.signal });
 *   await s.send(1);
 *   ac.abort("done");
 * } catch (e) {
 *   console.log("failed:", (e as Error).message);
 * }
 * await xclient.close();
 * ```
 */
export async function openMessageStream<Send, Receive>(
  caller: DataCaller,
  options: MessageStreamOptions & TransferOptions = {},
): Promise<MessageStream<Send, Receive>> {
  const { conn, release } = await openStream(caller, options.meta, options);
  release(); // the stream below answers the signal, telling the peer
  const codec = options.codec ?? defaultCodecs.get(serializeTypeOf(options));
  return new MessageStream<Send, Receive>(conn, codec, options);
}
