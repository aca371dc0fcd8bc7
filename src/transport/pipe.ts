/**
 * In-memory pipes: {@linkcode pipe} makes two connected {@linkcode Connection}s (Go's
 * `net.Pipe`), and {@linkcode PipeNetwork} is a {@linkcode Network} of them, its addresses names
 * in a table of its own. The `inprocess` network is one (`src/transport/inprocess.ts`); a
 * program may register others under other names. A pipe's ends carry bytes, or whole messages
 * when the Server and Client ask them to (`Connection.messageLink`): no frame is encoded or
 * decoded then.
 *
 * @module
 */
import type { FramedConnectionHandlers, FramedConnectionOptions } from "./framed_options.ts";
import type { Connection, Listener, MessageLink, Network } from "./network.ts";
import { ConnectionRefusedError, ListenError, type SocketErrorInfo } from "./errors.ts";
import { Channel, type ChannelEnd } from "./_pipe_channel.ts";
import { PipeLink } from "./_pipe_link.ts";

/** One end of a {@linkcode pipe}. */
class PipeConnection implements Connection, ChannelEnd {
  readonly #in: Channel;
  readonly #out: Channel;

  constructor(
    readonly network: string,
    readonly localAddress: string,
    readonly remoteAddress: string,
    incoming: Channel,
    outgoing: Channel,
  ) {
    this.#in = incoming;
    this.#out = outgoing;
  }

  read(p: Uint8Array): Promise<number | null> {
    return this.#in.read(p);
  }

  write(p: Uint8Array): Promise<number> {
    return this.#out.write(p, this);
  }

  close(): void {
    this.#out.writerClosed();
    this.#in.readerClosed();
  }

  /** Carries whole messages instead of frames (see `Connection.messageLink`). */
  messageLink(
    handlers: FramedConnectionHandlers,
    options: FramedConnectionOptions = {},
  ): MessageLink {
    return new PipeLink(this.#in, this.#out, () => this.close(), handlers, options);
  }

  info(op: "read" | "write"): SocketErrorInfo {
    return {
      op,
      network: this.network,
      localAddress: this.localAddress,
      remoteAddress: this.remoteAddress,
    };
  }
}

/**
 * Two connected in-memory connections (Go's `net.Pipe`): what one end writes, the other reads.
 * Nothing is buffered: a write resolves once reads at the other end took all its bytes (copied
 * once), so a reader that stops reading holds its writer, as a full socket would. Closing an end
 * ends the other's reads (null) and drops its writes not yet read (they reject); a write to an
 * end that is closed rejects with `PeerGoneError` ("broken-pipe"), a write on an end closed by
 * its own side with `SocketError` (`use of closed network connection`). `network` and the two addresses are
 * what the ends report (`a` is the first end's local address, `b` the second's; default `pipe`).
 *
 * @example
 * ```ts
 * import { pipe } from "@rpcx/core/extend";
 * const [a, b] = pipe();
 * const buf = new Uint8Array(8);
 * const reading = b.read(buf);
 * await a.write(new TextEncoder().encode("hi"));
 * console.log(await reading, new TextDecoder().decode(buf.subarray(0, 2))); // 2 "hi"
 * a.close();
 * console.log(await b.read(buf)); // null
 * b.close();
 * ```
 */
export function pipe(network = "pipe", a = "pipe", b = "pipe"): [Connection, Connection] {
  const ab = new Channel();
  const ba = new Channel();
  return [new PipeConnection(network, a, b, ba, ab), new PipeConnection(network, b, a, ab, ba)];
}

/** The listener of a {@linkcode PipeNetwork}: the server ends of the pipes dialed to it. */
class PipeListener implements Listener {
  #queue: Connection[] = [];
  #waiting: ((r: IteratorResult<Connection>) => void)[] = [];
  #closed = false;

  constructor(
    readonly network: string,
    readonly address: string,
    readonly release: () => void,
  ) {}

  /** A dial arrived: its server end waits to be accepted. */
  enqueue(conn: Connection): void {
    const next = this.#waiting.shift();
    if (next) next({ value: conn, done: false });
    else this.#queue.push(conn);
  }

  [Symbol.asyncIterator](): AsyncIterator<Connection> {
    return {
      next: () => {
        const conn = this.#queue.shift();
        if (conn) return Promise.resolve({ value: conn, done: false });
        if (this.#closed) return Promise.resolve({ value: undefined, done: true });
        return new Promise((r) => this.#waiting.push(r));
      },
      return: () => {
        this.close();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }

  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.release();
      // Dialed but never accepted: their dialers see the connection end.
      for (const c of this.#queue.splice(0)) c.close();
      for (const w of this.#waiting.splice(0)) w({ value: undefined, done: true });
    }
    return Promise.resolve();
  }
}

/**
 * A network of in-memory {@linkcode pipe}s: `listen(name)` takes a name in this network's own
 * table (any string; `ListenError` "in-use" when it is taken), `dial(name)` opens a pipe to that
 * listener (`ConnectionRefusedError` when nothing listens there), and closing the listener frees
 * the name at once. The dialing end's address is `<network>-client-<n>`. Connections are framed
 * rpcx like on a socket, so every feature of a network works on it (pushes, backpressure,
 * timeouts, drain, plugins' `connAccept`/`connClose`). Each instance is a separate namespace:
 * `inprocessNetwork` is the process-wide one named `inprocess`.
 *
 * @example
 * ```ts
 * import { Client, Server } from "@rpcx/core";
 * import { NetworkRegistry, PipeNetwork } from "@rpcx/core/extend";
 * const networks = new NetworkRegistry().register(new PipeNetwork("mem"));
 * const server = new Server({ networks });
 * await server.register({ Mul: (a: { A: number; B: number }) => ({ C: a.A * a.B }) }, "Arith");
 * await server.serve("mem", "arith");
 * const client = new Client("mem@arith", { networks });
 * console.log(await client.call("Arith", "Mul", { A: 6, B: 7 })); // { C: 42 }
 * await client.close();
 * await server.close();
 * ```
 */
export class PipeNetwork implements Network {
  /** The network's name in addresses (`name@address`). */
  readonly name: string;
  readonly #listening = new Map<string, PipeListener>();
  #clients = 0;

  /** A network called `name` (default `pipe`) with no listener yet. */
  constructor(name = "pipe") {
    this.name = name;
  }

  /** Listens on the name `address`; rejects with `ListenError` ("in-use") when it is taken. */
  listen(address: string): Promise<Listener> {
    if (this.#listening.has(address)) {
      return Promise.reject(new ListenError(this.name, address, "in-use", "name already in use"));
    }
    const listener: PipeListener = new PipeListener(this.name, address, () => {
      if (this.#listening.get(address) === listener) this.#listening.delete(address);
    });
    this.#listening.set(address, listener);
    return Promise.resolve(listener);
  }

  /** Opens a pipe to the listener `address`; rejects with `ConnectionRefusedError` if none. */
  dial(address: string): Promise<Connection> {
    const listener = this.#listening.get(address);
    if (!listener) return Promise.reject(new ConnectionRefusedError(`${this.name}@${address}`));
    const [client, server] = pipe(this.name, `${this.name}-client-${++this.#clients}`, address);
    listener.enqueue(server);
    return Promise.resolve(client);
  }

  /** Whether something listens on `address` now. */
  has(address: string): boolean {
    return this.#listening.has(address);
  }
}
