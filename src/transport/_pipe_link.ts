/**
 * Internal to the pipes: the message link of a pipe's end, what a {@linkcode FramedConnection}
 * is over a socket, without frames: messages cross as objects (a copy of each, taken when it is
 * sent), in the order sent, those of one turn together. A peer end that reads or writes bytes
 * instead gets frames: what this end sends is encoded for it, what it writes is decoded here
 * with the link's limits.
 *
 * @module
 */
import type { Message } from "../protocol/message.ts";
import { FrameDecoder } from "../protocol/framing.ts";
import type { FramedConnectionHandlers, FramedConnectionOptions } from "./framed_options.ts";
import type { MessageLink } from "./network.ts";
import { type Channel, type ChannelSink, Chunk } from "./_pipe_channel.ts";
import { clock, CLOCK_BASE } from "./_clock.ts";

/** Bits of a link's state. */
const STARTED = 1, PAUSED = 2, CLOSED = 4;

/** The message link of one end of a pipe. */
export class PipeLink implements MessageLink, ChannelSink {
  readonly #in: Channel;
  readonly #out: Channel;
  readonly #closeEnd: () => void;
  readonly #handlers: FramedConnectionHandlers;
  readonly #options: FramedConnectionOptions;
  #state = 0;
  /** Only when the peer writes bytes. */
  #decoder: FrameDecoder | undefined;
  /** What was taken from the channel and not yet handed over (reading paused meanwhile). */
  #held: (Chunk | Message)[] | undefined;
  /** The next of `#held` to hand over. */
  #at = 0;
  /**
   * Clock ms, stamped lazily as the channel's `waitingSince` (see there): `#received` counts
   * what was taken, and the getter stamps the clock when it first sees a new count.
   */
  #lastMessageAt = 0;
  #received = 0;
  #stamped = 0;

  /** The link over channels `incoming` and `outgoing`; `closeEnd` closes the end. */
  constructor(
    incoming: Channel,
    outgoing: Channel,
    closeEnd: () => void,
    handlers: FramedConnectionHandlers,
    options: FramedConnectionOptions,
  ) {
    this.#in = incoming;
    this.#out = outgoing;
    this.#closeEnd = closeEnd;
    this.#handlers = handlers;
    this.#options = options;
    if (options.encodeBatch) outgoing.encode = options.encodeBatch;
  }

  get isClosed(): boolean {
    return (this.#state & CLOSED) !== 0;
  }

  get lastMessageAt(): number {
    if (this.#stamped !== this.#received) {
      this.#stamped = this.#received;
      this.#lastMessageAt = clock();
    }
    return this.#lastMessageAt + CLOCK_BASE;
  }

  get writePendingSince(): number {
    const since = this.#out.waitingSince;
    return since < 0 ? 0 : since + CLOCK_BASE;
  }

  start(): void {
    if (this.#state & (STARTED | CLOSED)) return;
    this.#state |= STARTED;
    this.#lastMessageAt = clock();
    this.#in.attach(this);
  }

  send(msg: Message): void {
    if (this.#state & CLOSED) return;
    // A copy: what the sender changes after sending (a plugin's postWriteResponse) stays its own.
    this.#out.post(copyMessage(msg));
  }

  drained(): Promise<void> {
    return this.#state & CLOSED ? Promise.resolve() : this.#out.drained();
  }

  close(): void {
    if (this.#state & CLOSED) return;
    this.#state |= CLOSED;
    this.#decoder = undefined;
    this.#held = undefined;
    this.#closeEnd();
    this.#handlers.onClose?.();
  }

  /** Hands over what waits, until reading pauses; closes once the peer is gone. */
  pull(): void {
    while (!(this.#state & (PAUSED | CLOSED))) {
      let held = this.#held;
      if (held === undefined || this.#at === held.length) {
        held = this.#in.takeAll();
        if (held.length === 0) {
          this.#held = undefined;
          break;
        }
        this.#held = held;
        this.#at = 0;
        this.#received++;
      }
      const item = held[this.#at++];
      if (!(item instanceof Chunk)) {
        this.#deliver(item);
        continue;
      }
      // Bytes from a peer that writes frames: copied, as the writer may reuse its buffer.
      try {
        const msgs = (this.#decoder ??= this.#frames()).push(item.bytes.slice(item.taken));
        held.splice(this.#at, 0, ...msgs);
      } catch (e) {
        return this.#fail(e);
      }
    }
    if (this.#state & (PAUSED | CLOSED) || !this.#in.writerGone) return;
    try {
      this.#decoder?.end(); // a frame cut short
    } catch (e) {
      return this.#fail(e);
    }
    this.close();
  }

  #frames(): FrameDecoder {
    const h = this.#handlers;
    return new FrameDecoder(
      this.#options,
      h.onFrameError ? h as Required<FramedConnectionHandlers> : undefined,
    );
  }

  #deliver(msg: Message): void {
    let paused: void | Promise<void>;
    try {
      paused = this.#handlers.onMessage(msg);
    } catch (e) {
      return this.#fail(e);
    }
    if (paused === undefined) return;
    this.#state |= PAUSED;
    paused.catch(() => {}).then(() => {
      this.#state &= ~PAUSED;
      this.pull();
    });
  }

  #fail(e: unknown): void {
    if (!(this.#state & CLOSED)) this.#handlers.onError?.(e);
    this.close();
  }
}

/**
 * A copy of `m` with its own metadata (the payload's bytes are shared), field by field: the
 * shape of `createMessage`'s messages, which a spread would not keep.
 */
function copyMessage(m: Message): Message {
  return {
    version: m.version,
    messageType: m.messageType,
    heartbeat: m.heartbeat,
    oneway: m.oneway,
    compressType: m.compressType,
    status: m.status,
    serializeType: m.serializeType,
    seq: m.seq,
    servicePath: m.servicePath,
    serviceMethod: m.serviceMethod,
    metadata: { ...m.metadata },
    payload: m.payload,
  };
}
