/**
 * Fixed-size pools of clients taken round-robin (Go's `XClientPool` and `OneClientPool`): N
 * clients, so N connections to each server, for callers that want more than one connection's
 * worth of throughput or isolation.
 *
 * @module
 */
import type { ServiceDiscovery } from "../registry/discovery.ts";
import type { FailMode, XClientOptions } from "./options.ts";
import type { ServerMessagesOptions, ServerMessageStream } from "./push.ts";
import { PushReceivers } from "./_push.ts";
import type { SelectMode } from "./selectors.ts";
import { OneClient } from "./oneclient.ts";
import { XClient } from "./xclient.ts";

/** Checks a pool's size. */
function sizeOf(count: number): number {
  if (!Number.isInteger(count) || count < 1) {
    throw new RangeError(`a client pool needs an integer count >= 1, got ${count}`);
  }
  return count;
}

/** What both pools share: the clients, round-robin, pushes, close. */
class Pool<C extends { close(): Promise<void> }> {
  readonly #clients: readonly C[];
  readonly #push: PushReceivers;
  #next = 0;

  constructor(
    count: number,
    options: XClientOptions,
    owner: string,
    make: (o: XClientOptions) => C,
  ) {
    const size = sizeOf(count);
    this.#push = new PushReceivers(
      options.onServerMessage,
      owner,
      options.bidirectionalBlock ?? false,
    );
    const opts = { ...options, onServerMessage: this.#push.dispatch.bind(this.#push) };
    const clients: C[] = [];
    for (let i = 0; i < size; i++) clients.push(make(opts));
    this.#clients = clients;
  }

  get clients(): readonly C[] {
    return this.#clients;
  }

  get(): C {
    const c = this.#clients[this.#next];
    this.#next = (this.#next + 1) % this.#clients.length;
    return c;
  }

  serverMessages(options: ServerMessagesOptions): ServerMessageStream {
    return this.#push.subscribe(options);
  }

  async close(): Promise<void> {
    this.#push.close();
    await Promise.all(this.#clients.map((c) => c.close()));
  }
}

/**
 * `count` {@linkcode XClient}s of one service, handed out round-robin by `get()` (Go's
 * `NewXClientPool(count, servicePath, failMode, selectMode, discovery, option)`; with
 * `options.onServerMessage` or `serverMessages()`, Go's `NewBidirectionalXClientPool`). They
 * share `discovery` (which the pool does not close) and `options`; each has its own
 * connections. Do not close a client taken from the pool: `close()` closes them all, after
 * which they fail every call with {@linkcode ClientClosedError}.
 *
 * @example
 * ```ts
 * import { FailMode, Peer2PeerDiscovery, SelectMode, Server, XClientPool } from "@rpcx/core";
 * const server = new Server();
 * server.register({ Mul: (a: { A: number; B: number }) => ({ C: a.A * a.B }) }, "Arith");
 * const addr = await server.serve("tcp", "127.0.0.1:0");
 * const pool = new XClientPool(10, "Arith", FailMode.Failtry, SelectMode.RandomSelect,
 *   new Peer2PeerDiscovery(`tcp@${addr}`));
 * for (let i = 0; i < 3; i++) console.log(await pool.get().call("Mul", { A: 10, B: 20 }));
 * await pool.close();
 * await server.close();
 * ```
 */
export class XClientPool {
  /** How many clients. */
  readonly size: number;
  readonly #pool: Pool<XClient>;

  /**
   * `count` XClients of `servicePath`.
   *
   * @throws {RangeError} unless `count` is an integer >= 1 (and as {@linkcode XClient}'s).
   */
  constructor(
    count: number,
    servicePath: string,
    failMode: FailMode,
    selectMode: SelectMode,
    discovery: ServiceDiscovery,
    options: XClientOptions = {},
  ) {
    this.#pool = new Pool(
      count,
      options,
      `XClientPool(${servicePath})`,
      (o) => new XClient(servicePath, failMode, selectMode, discovery, o),
    );
    this.size = count;
  }

  /** The next client, round-robin (Go's `Get`); it stays in the pool, do not close it. */
  get(): XClient {
    return this.#pool.get();
  }

  /** All the clients, in the order `get()` hands them out. */
  get clients(): readonly XClient[] {
    return this.#pool.clients;
  }

  /** The pushes the servers send to any client of the pool (see {@linkcode XClient.serverMessages}). */
  serverMessages(options: ServerMessagesOptions = {}): ServerMessageStream {
    return this.#pool.serverMessages(options);
  }

  /** Closes every client (Go's `Close`). */
  close(): Promise<void> {
    return this.#pool.close();
  }
}

/**
 * `count` {@linkcode OneClient}s, handed out round-robin by `get()` (Go's
 * `NewOneClientPool(count, failMode, selectMode, discovery, option)`; with pushes, Go's
 * `NewBidirectionalOneClientPool`). As {@linkcode XClientPool}: they share `discovery` and
 * `options`, and `close()` closes them all.
 *
 * @example
 * ```ts
 * import { FailMode, OneClientPool, Peer2PeerDiscovery, SelectMode, Server } from "@rpcx/core";
 * const server = new Server();
 * server.register({ Say: (s: string) => s }, "echo");
 * const addr = await server.serve("tcp", "127.0.0.1:0");
 * const pool = new OneClientPool(4, FailMode.Failtry, SelectMode.RandomSelect,
 *   new Peer2PeerDiscovery(`tcp@${addr}`));
 * console.log(await pool.get().call("echo", "Say", "hi")); // "hi"
 * await pool.close();
 * await server.close();
 * ```
 */
export class OneClientPool {
  /** How many clients. */
  readonly size: number;
  readonly #pool: Pool<OneClient>;

  /**
   * `count` OneClients.
   *
   * @throws {RangeError} unless `count` is an integer >= 1 (and as {@linkcode OneClient}'s).
   */
  constructor(
    count: number,
    failMode: FailMode,
    selectMode: SelectMode,
    discovery: ServiceDiscovery,
    options: XClientOptions = {},
  ) {
    this.#pool = new Pool(
      count,
      options,
      "OneClientPool",
      (o) => new OneClient(failMode, selectMode, discovery, o),
    );
    this.size = count;
  }

  /** The next client, round-robin (Go's `Get`); it stays in the pool, do not close it. */
  get(): OneClient {
    return this.#pool.get();
  }

  /** All the clients, in the order `get()` hands them out. */
  get clients(): readonly OneClient[] {
    return this.#pool.clients;
  }

  /** The pushes the servers send to any client of the pool (see {@linkcode OneClient.serverMessages}). */
  serverMessages(options: ServerMessagesOptions = {}): ServerMessageStream {
    return this.#pool.serverMessages(options);
  }

  /** Closes every client (Go's `Close`). */
  close(): Promise<void> {
    return this.#pool.close();
  }
}
