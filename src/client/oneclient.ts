/**
 * OneClient (Go's `client.OneClient`): one client for every service behind a discovery, an
 * {@linkcode XClient} per service path made on its first call.
 *
 * @module
 */
import type { Message } from "../protocol/message.ts";
import type { ServiceDiscovery } from "../registry/discovery.ts";
import { ClientClosedError } from "./errors.ts";
import type { CallOptions, FailMode, XClientOptions } from "./options.ts";
import type { ServerMessagesOptions, ServerMessageStream } from "./push.ts";
import { PushReceivers } from "./_push.ts";
import { maxWaitOf } from "./_bounds.ts";
import type { SelectMode, Selector } from "./selectors.ts";
import { type TypedClient, typedProxy } from "./typed.ts";
import { type Receipt, XClient } from "./xclient.ts";
import { StreamCalls } from "./stream_calls.ts";

/** A service's XClient and the discovery cloned for it (closed with it). */
interface PerService {
  readonly xclient: XClient;
  readonly discovery: ServiceDiscovery;
}

/**
 * Calls any service behind one discovery, with one fail mode and select mode for all (Go's
 * `NewOneClient(failMode, selectMode, discovery, option)`). The first call of a service path
 * makes its {@linkcode XClient}, following `discovery.clone(servicePath)` (as Go: a registry's
 * discovery lists the servers of one service, so each service gets its own; Peer2Peer and
 * MultipleServers give the same servers to every service), with `options` (every
 * {@linkcode XClientOptions}: retries, timeouts, `sticky`, plugins...). Pushes from every
 * service's servers arrive in `serverMessages()` and `options.onServerMessage` (Go's
 * `NewBidirectionalOneClient`). `close()` closes every XClient and the discoveries it cloned;
 * the discovery given stays open.
 *
 * @example
 * ```ts
 * import { FailMode, OneClient, Peer2PeerDiscovery, SelectMode, Server } from "@rpcx/core";
 * const server = new Server();
 * server.register({ Mul: (a: { A: number; B: number }) => ({ C: a.A * a.B }) }, "Arith");
 * server.register({ Say: (s: string) => s }, "echo");
 * const addr = await server.serve("tcp", "127.0.0.1:0");
 * const one = new OneClient(FailMode.Failtry, SelectMode.RandomSelect,
 *   new Peer2PeerDiscovery(`tcp@${addr}`));
 * console.log(await one.call("Arith", "Mul", { A: 10, B: 20 })); // { C: 200 }
 * console.log(await one.call("echo", "Say", "hello world")); // "hello world"
 * await one.close();
 * await server.close();
 * ```
 */
export class OneClient extends StreamCalls {
  /** The fail mode of every service's calls. */
  readonly failMode: FailMode;
  /** The select mode of every service's calls. */
  readonly selectMode: SelectMode;
  /** The discovery each service's is cloned from. */
  readonly discovery: ServiceDiscovery;
  readonly #options: XClientOptions;
  readonly #services = new Map<string, PerService>();
  readonly #selectors = new Map<string, Selector>();
  readonly #push: PushReceivers;
  #closed = false;

  /**
   * Follows `discovery` (cloned per service path on first use) with `options` for every service.
   *
   * @throws {RangeError} when `options.maxWait` is not a number > 0.
   */
  constructor(
    failMode: FailMode,
    selectMode: SelectMode,
    discovery: ServiceDiscovery,
    options: XClientOptions = {},
  ) {
    super(options.serializeType);
    maxWaitOf(options.maxWait); // fail here, not at the first call
    this.failMode = failMode;
    this.selectMode = selectMode;
    this.discovery = discovery;
    this.#push = new PushReceivers(
      options.onServerMessage,
      "OneClient",
      options.bidirectionalBlock ?? false,
    );
    this.#options = { ...options, onServerMessage: (m) => this.#push.dispatch(m) };
  }

  /** The service paths called so far (each has its XClient). */
  get services(): string[] {
    return [...this.#services.keys()];
  }

  /**
   * The {@linkcode XClient} of `servicePath`, made (with its clone of the discovery) on first
   * use.
   *
   * @throws {ClientClosedError} after `close()`.
   * @throws {TypeError} for SelectByUser without a selector (see {@linkcode OneClient.setSelector}).
   */
  xclient(servicePath: string): XClient {
    if (this.#closed) throw new ClientClosedError();
    const known = this.#services.get(servicePath);
    if (known !== undefined) return known.xclient;
    const discovery = this.discovery.clone(servicePath);
    const selector = this.#selectors.get(servicePath);
    const options = selector === undefined ? this.#options : { ...this.#options, selector };
    let xclient: XClient;
    try {
      xclient = new XClient(servicePath, this.failMode, this.selectMode, discovery, options);
    } catch (e) {
      void discovery.close();
      throw e;
    }
    this.#services.set(servicePath, { xclient, discovery });
    return xclient;
  }

  /**
   * The selector of `servicePath` for {@linkcode SelectMode.SelectByUser} (Go's
   * `OneClient.SetSelector`): each service needs its own, since a selector holds its service's
   * server list. Without one, `options.selector` is used.
   *
   * @throws {TypeError} when `servicePath` was called already (its XClient has its selector).
   */
  setSelector(servicePath: string, selector: Selector): void {
    if (this.#services.has(servicePath)) {
      throw new TypeError(`OneClient.setSelector: ${servicePath} has been called already`);
    }
    this.#selectors.set(servicePath, selector);
  }

  #with<T>(servicePath: string, run: (x: XClient) => Promise<T>): Promise<T> {
    let x: XClient;
    try {
      x = this.xclient(servicePath);
    } catch (e) {
      return Promise.reject(e);
    }
    return run(x);
  }

  /**
   * Calls `servicePath.method` (Go's `OneClient.Call`), with the fail and select modes; as
   * {@linkcode XClient.call}.
   */
  call<T = unknown>(
    servicePath: string,
    method: string,
    args: unknown,
    options?: CallOptions,
  ): Promise<T> {
    return this.#with(servicePath, (x) => x.call<T>(method, args, options));
  }

  /** A typed view of `servicePath` (see {@linkcode XClient.typed}). */
  typed<S>(servicePath: string): TypedClient<S> {
    return typedProxy<S>((method, args, options) => this.call(servicePath, method, args, options));
  }

  /** Every server of `servicePath`, all must succeed (Go's `Broadcast`; see {@linkcode XClient.broadcast}). */
  broadcast<T = unknown>(
    servicePath: string,
    method: string,
    args: unknown,
    options?: CallOptions,
  ): Promise<T[]> {
    return this.#with(servicePath, (x) => x.broadcast<T>(method, args, options));
  }

  /** Every server of `servicePath`, the first success wins (Go's `Fork`; see {@linkcode XClient.fork}). */
  fork<T = unknown>(
    servicePath: string,
    method: string,
    args: unknown,
    options?: CallOptions,
  ): Promise<T> {
    return this.#with(servicePath, (x) => x.fork<T>(method, args, options));
  }

  /** Every server of `servicePath`, a receipt each (Go's `Inform`; see {@linkcode XClient.inform}). */
  inform<T = unknown>(
    servicePath: string,
    method: string,
    args: unknown,
    options?: CallOptions,
  ): Promise<Receipt<T>[]> {
    return this.#with(servicePath, (x) => x.inform<T>(method, args, options));
  }

  /** Oneway call to one server of `servicePath` (see {@linkcode XClient.send}). */
  send(servicePath: string, method: string, args: unknown, options?: CallOptions): Promise<void> {
    return this.#with(servicePath, (x) => x.send(method, args, options));
  }

  /**
   * Sends a message built by the caller to a server of its `servicePath` (Go's
   * `OneClient.SendRaw`; see {@linkcode XClient.sendRaw}).
   *
   * @throws {TypeError} (as a rejection) when `req.servicePath` is empty.
   */
  sendRaw(req: Message, options?: CallOptions): Promise<Message | undefined> {
    if (!req.servicePath) {
      return Promise.reject(new TypeError("OneClient.sendRaw: the message has no servicePath"));
    }
    return this.#with(req.servicePath, (x) => x.sendRaw(req, options));
  }

  /**
   * The messages the servers of every service push from now on (Go's
   * `NewBidirectionalOneClient`); see {@linkcode XClient.serverMessages}.
   */
  serverMessages(options: ServerMessagesOptions = {}): ServerMessageStream {
    return this.#push.subscribe(options);
  }

  /**
   * Closes every service's XClient (their operations under way fail with
   * {@linkcode ClientClosedError}) and the discoveries cloned for them. Go: `OneClient.Close`.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const all = [...this.#services.values()];
    this.#services.clear();
    this.#push.close();
    await Promise.all(all.map((s) => s.xclient.close()));
    await Promise.all(all.map((s) => s.discovery.close().catch(() => {})));
  }
}
