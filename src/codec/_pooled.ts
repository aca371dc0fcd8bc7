/**
 * Internal: large payloads (requests, and replies no hook reads after their write) encoded
 * straight into a pooled buffer ({@linkcode payloadBuffers}, a pool like the write buffers of
 * `protocol/_write_buffers.ts`) and given back once a connection has framed them into its write
 * buffer. A large MsgPack payload is then copied once between its argument and the socket (into
 * the frame), and allocates no buffer of its own.
 *
 * Only payloads made here go back, and only once: a payload is lent from `encodePayload` until
 * the connection that frames it calls `givePayload` (a message never framed, e.g. one carried
 * whole by an in-process pipe, just stays with the collector). Nothing may read such a payload
 * after it was framed: only a client's own requests are encoded here, which nothing reads after
 * their write (a retry encodes again), and a server's replies when no `postWriteResponse` hook
 * reads them after their write (one that is not framed, e.g. an HTTP answer, is left alone).
 *
 * @module
 */
import type { Codec } from "./codec.ts";
import { WriteBuffers } from "../protocol/_write_buffers.ts";

/** A codec method that encodes a value into a buffer from the pool (a lent payload). */
export const encodePooled: unique symbol = Symbol("rpcx.encodePooled");

/** A codec that can encode into a lent buffer. */
export interface PoolingCodec extends Codec {
  [encodePooled]?: (value: unknown) => Uint8Array;
}

/** Payloads of this many bytes and more are lent; smaller ones get a buffer of their own. */
export const POOLED_PAYLOAD = 4096;

/**
 * The payloads' own pool: shared with the write buffers, 32 KiB payloads filled its byte cap
 * and pushed the batches' large write buffers out of it (one new buffer per write again).
 */
export const payloadBuffers: WriteBuffers = new WriteBuffers();

/** The buffers lent as payloads and not given back yet. */
const lent = new WeakSet<ArrayBufferLike>();

/** Marks `payload` lent: its buffer goes back to the pool once framed (if the pool made it). */
export function lend(payload: Uint8Array): Uint8Array {
  lent.add(payload.buffer);
  return payload;
}

/** `codec.encode(value)`, into a lent buffer where the codec can do that. */
export function encodePayload(codec: Codec, value: unknown): Uint8Array {
  const pooled = (codec as PoolingCodec)[encodePooled];
  return pooled !== undefined ? pooled(value) : codec.encode(value);
}

/** Gives back a lent payload once it is framed; any other payload is left alone. */
export function givePayload(payload: Uint8Array): void {
  const buffer = payload.buffer;
  if (!lent.has(buffer)) return;
  lent.delete(buffer);
  payloadBuffers.give(payload);
}
