/**
 * XClient: calls a service through a discovery, with select modes, fail modes, retries,
 * broadcast and fork, and per-server health (refused servers are skipped and retried later).
 *
 * @module
 */
import type { KVPair, RegistryOutageEvent, ServiceDiscovery } from "../registry/discovery.ts";
import { createMessage, type Message } from "../protocol/message.ts";
import { trackedCall } from "./_calls.ts";
import { type TypedClient, typedProxy } from "./typed.ts";
import { ClientPluginChain, type SelectFunc } from "./plugin.ts";
import { PushReceivers } from "./_push.ts";
import type { ServerMessagesOptions, ServerMessageStream } from "./push.ts";
import {
  CallTimeoutError,
  ClientClosedError,
  isRetryable,
  NoServerAvailableError,
  NoServerSelectedError,
} from "./errors.ts";
import { type SelectMode, type Selector, WeightedLatencySelector } from "./selectors.ts";
import { type CallOptions, type ClientOptions, FailMode, type XClientOptions } from "./options.ts";
import { ServerHealth } from "./_health.ts";
import { ClientPool } from "./_pool.ts";
import { makeSelector } from "./_select.ts";
import { abortPromise, callBounds, remaining } from "./_bounds.ts";

export { FailMode, type XClientOptions } from "./options.ts";

const NO_OPTIONS: CallOptions = {};

/**
 * Calls one service through a discovery.
 *
 * @example
 * ```ts
 * import { FailMode, MultipleServersDiscovery, SelectMode, Server, XClient } from "@rpcx/core";
 * const servers = [new Server(), new Server()];
 * const pairs = [];
 * for (const s of servers) {
 *   s.register({ Who: () => "me" }, "Svc");
 *   pairs.push({ key: `tcp@${await s.serve("tcp", "127.0.0.1:0")}`, value: "" });
 * }
 * const x = new XClient("Svc", FailMode.Failover, SelectMode.RoundRobin,
 *   new MultipleServersDiscovery(pairs));
 * console.log(await x.call("Who", null)); // "me"
 * await x.close();
 * for (const s of servers) await s.close();
 * ```
 */
export class XClient {
  /** The service called. */
  readonly servicePath: string;
  /** The fail mode. */
  readonly failMode: FailMode;
  /** The select mode. */
  readonly selectMode: SelectMode;
  /** The discovery followed. */
  readonly discovery: ServiceDiscovery;
  readonly #options: XClientOptions;
  readonly #selector: Selector;
  /** The selector, wrapped by the plugins' `wrapSelect`. */
  readonly #select: SelectFunc;
  /** The client plugins (also handed to every connection's Client). */
  readonly #plugins: ClientPluginChain | undefined;
  /** One Client per server. */
  readonly #pool: ClientPool;
  /** Whether the discovery's first list is in: calls need not wait for it. */
  #discoveryReady = false;
  /** The listed servers and their health. */
  readonly #health: ServerHealth;
  #closed = false;
  readonly #unwatch: () => void;
  /** The discovery's last outage error while it cannot reach its registry, else undefined. */
  #registryError: unknown = undefined;
  readonly #onOutage: EventListener = (e) => {
    this.#registryError = (e as RegistryOutageEvent).error;
  };
  readonly #onRecovered: EventListener = () => {
    this.#registryError = undefined;
  };
  readonly #push: PushReceivers;
  /** Options of each server's Client: pushes go to this XClient's receivers. */
  readonly #clientOptions: ClientOptions;

  /** Follows `discovery` for `servicePath`. */
  constructor(
    servicePath: string,
    failMode: FailMode,
    selectMode: SelectMode,
    discovery: ServiceDiscovery,
    options: XClientOptions = {},
  ) {
    this.servicePath = servicePath;
    this.failMode = failMode;
    this.selectMode = selectMode;
    this.discovery = discovery;
    this.#options = options;
    this.#push = new PushReceivers(
      options.onServerMessage,
      servicePath,
      options.bidirectionalBlock ?? false,
    );
    this.#clientOptions = { ...options, onServerMessage: (m) => this.#push.dispatch(m) };
    this.#selector = makeSelector(selectMode, options);
    this.#health = new ServerHealth(this.#selector, options);
    this.#pool = new ClientPool(this.#clientOptions, this.#health);
    const select: SelectFunc = (path, method, args) => this.#selector.select(path, method, args);
    this.#plugins = ClientPluginChain.of(options.plugins);
    this.#select = this.#plugins?.wrapSelect(select) ?? select;
    this.#unwatch = discovery.watch((pairs) => this.#setPairs(pairs));
    discovery.addEventListener("outage", this.#onOutage);
    discovery.addEventListener("recovered", this.#onRecovered);
    discovery.ready().then(() => (this.#discoveryReady = true), () => {});
    this.#setPairs(discovery.getServices());
  }

  /**
   * The messages any of its servers pushes from now on, as a bounded async iterator that ends on
   * `close()` (Go: the channel of `NewBidirectionalXClient`); `ServerMessage.server` says which
   * server. A server pushes on the connection a call opened. `options.onServerMessage` is the
   * callback form.
   *
   * @example
   * ```ts
   * import { FailMode, Peer2PeerDiscovery, SelectMode, XClient } from "@rpcx/core";
   * const xclient = new XClient("Arith", FailMode.Failtry, SelectMode.RandomSelect,
   *   new Peer2PeerDiscovery("tcp@127.0.0.1:8972"));
   * const pushes = xclient.serverMessages();
   * setTimeout(() => xclient.close(), 10);
   * for await (const m of pushes) console.log(m.server, new TextDecoder().decode(m.data));
   * ```
   */
  serverMessages(options: ServerMessagesOptions = {}): ServerMessageStream {
    return this.#push.subscribe(options);
  }

  /**
   * Keys of the servers the selector chooses from now: inactive servers, other groups and
   * servers backing off after failures are left out — unless every server is backing off,
   * then all are listed (backoff orders servers, it never hides the last ones).
   */
  get servers(): string[] {
    return this.#health.available().map((p) => p.key);
  }

  /** Keys the discovery lists after state and group filtering (down servers included). */
  get discovered(): string[] {
    return this.#health.pairs.map((p) => p.key);
  }

  #setPairs(pairs: KVPair[]): void {
    this.#pool.retireAllBut(this.#health.setPairs(pairs));
  }

  async #ready(signal: AbortSignal | undefined): Promise<void> {
    if (this.#closed) throw new ClientClosedError();
    const wait = this.#options.discoveryTimeout ?? 5000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([
        this.discovery.ready(),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, wait))),
        ...(signal ? [abortPromise(signal)] : []),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** "No server", saying why when the discovery cannot reach its registry. */
  #noServer(): NoServerAvailableError {
    const e = this.#registryError;
    if (e === undefined) return new NoServerAvailableError(this.servicePath);
    const why = e instanceof Error ? e.message : String(e);
    return new NoServerAvailableError(
      this.servicePath,
      `; its registry cannot be reached: ${why}`,
      { cause: e },
    );
  }

  /**
   * The server for the next try: the selector's choice among the available servers, else
   * (when it was tried already) another available one, else a backing-off one not tried yet
   * (soonest due first), else the selector's choice again.
   */
  #pick(method: string, args: unknown, tried?: Set<string>): string {
    const available = this.#health.available();
    if (available.length === 0) throw this.#noServer();
    let key = this.#select(this.servicePath, method, args);
    if (key === undefined) throw new NoServerSelectedError(this.servicePath, available.length);
    if (tried === undefined || !tried.has(key)) return key;
    for (const p of available) if (!tried.has(p.key)) return p.key;
    let due = Infinity;
    for (const p of this.#health.pairs) {
      const until = this.#health.downUntil(p.key);
      if (!tried.has(p.key) && until < due) {
        due = until;
        key = p.key;
      }
    }
    return key;
  }

  /** One try on `key`: its health is updated from the outcome. */
  #callOne<T>(key: string, method: string, args: unknown, options: CallOptions): Promise<T> {
    const entry = this.#pool.entry(key);
    entry.busy++;
    const client = entry.client;
    return client[trackedCall]<T>(this.servicePath, method, args, options, entry.track) ??
      client.call<T>(this.servicePath, method, args, options).then(
        entry.ok,
        entry.failed,
      ) as Promise<T>;
  }

  /**
   * Calls `method` with `args` on a server chosen by the select mode, applying the fail mode.
   * `timeout` and `signal` bound the whole call, retries included.
   */
  call<T = unknown>(method: string, args: unknown, options: CallOptions = NO_OPTIONS): Promise<T> {
    if (this.#closed) return Promise.reject(new ClientClosedError());
    // The default timeout of the options bounds the whole call too, not each try.
    const timeout = options.timeout ?? this.#options.timeout;
    const deadline = timeout !== undefined && timeout > 0 ? Date.now() + timeout : undefined;
    if (!this.#discoveryReady) {
      return this.#ready(options.signal).then(() =>
        this.#start<T>(method, args, options, timeout, deadline)
      );
    }
    return this.#start<T>(method, args, options, timeout, deadline);
  }

  /**
   * The fail modes: the first try goes straight out (no waiting beyond the call itself);
   * only when it fails with a transport error do Failover and Failtry enter the retry loop.
   */
  #start<T>(
    method: string,
    args: unknown,
    options: CallOptions,
    timeout: number | undefined,
    deadline: number | undefined,
  ): Promise<T> {
    const mode = this.failMode;
    if (mode === FailMode.Failfast && deadline === undefined) {
      // One try with the caller's options as they are: nothing to retry or rewrite.
      try {
        return this.#callOne<T>(this.#pick(method, args), method, args, options);
      } catch (e) {
        return Promise.reject(e);
      }
    }
    // Without a deadline every try takes the caller's options as they are.
    const attemptOptions = deadline === undefined
      ? () => options
      : () => ({ ...options, timeout: remaining(deadline, timeout!) });
    const tries = mode === FailMode.Failover || mode === FailMode.Failtry
      ? Math.max(this.#options.retries ?? 3, 0) + 1
      : 1;
    let key: string;
    let first: Promise<T>;
    try {
      key = this.#pick(method, args);
      first = this.#try<T>(key, method, args, attemptOptions);
    } catch (e) {
      first = Promise.reject(e);
    }
    const p = tries > 1
      ? first.catch((e) =>
        this.#retry<T>(e, key, tries, method, args, options.signal, attemptOptions)
      )
      : first;
    if (deadline === undefined) return p;
    return p.catch((e) => {
      // A try's timeout is what was left of the call's: report the call's own timeout.
      throw e instanceof CallTimeoutError ? new CallTimeoutError(timeout!) : e;
    });
  }

  /** One try of the fail mode on `key` (Failbackup: with its backup). */
  #try<T>(key: string, method: string, args: unknown, opts: () => CallOptions): Promise<T> {
    return this.failMode === FailMode.Failbackup
      ? this.#backup<T>(key, method, args, opts)
      : this.#callOne<T>(key, method, args, opts());
  }

  /**
   * The one retry loop of the fail modes, after a first try on `key` failed with `error`: on a
   * transport error try again — Failover on another server, Failtry on the same one — up to
   * `tries` tries in all. A service error is never retried.
   */
  async #retry<T>(
    error: unknown,
    key: string | undefined,
    tries: number,
    method: string,
    args: unknown,
    signal: AbortSignal | undefined,
    attemptOptions: () => CallOptions,
  ): Promise<T> {
    if (key === undefined || !isRetryable(error) || signal?.aborted) throw error;
    const tried = new Set<string>([key]);
    let last = error;
    for (let i = 1; i < tries; i++) {
      if (this.failMode !== FailMode.Failtry) {
        try {
          key = this.#pick(method, args, tried);
        } catch {
          throw last;
        }
        tried.add(key);
      }
      try {
        return await this.#try<T>(key!, method, args, attemptOptions);
      } catch (e) {
        last = e;
        if (!isRetryable(e) || signal?.aborted) throw e;
      }
    }
    throw last;
  }

  #backup<T>(first: string, method: string, args: unknown, opts: () => CallOptions): Promise<T> {
    const base = opts();
    const ac = new AbortController();
    const signal = base.signal ? AbortSignal.any([base.signal, ac.signal]) : ac.signal;
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      let started = 0;
      let failed = 0;
      const run = (key: string) => {
        started++;
        this.#callOne<T>(key, method, args, { ...base, signal }).then((reply) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          ac.abort();
          resolve(reply);
        }, (e) => {
          failed++;
          if (settled) return;
          // A failed first try starts the backup at once instead of waiting.
          if (started === 1 && isRetryable(e) && startBackup()) return;
          if (failed >= started) {
            settled = true;
            clearTimeout(timer);
            reject(e);
          }
        });
      };
      const startBackup = (): boolean => {
        if (settled || started > 1) return false;
        clearTimeout(timer);
        let second: string;
        try {
          second = this.#pick(method, args, new Set([first]));
        } catch {
          return false;
        }
        if (second === first) return false;
        run(second);
        return true;
      };
      const timer = setTimeout(startBackup, this.#options.backupLatency ?? 10);
      run(first);
    });
  }

  /**
   * A typed view of this client's service: `xclient.typed<Arith>().Mul(args, options)` calls
   * `call("Mul", args, options)` (fail and select modes applied), with method names, args and
   * reply checked by the compiler against the class `S` (see {@linkcode TypedClient}).
   */
  typed<S>(): TypedClient<S> {
    return typedProxy<S>((method, args, options) => this.call(method, args, options));
  }

  /**
   * Calls every discovered server (after state and group filtering; backing-off servers
   * included); resolves with all replies when all succeed.
   */
  async broadcast<T = unknown>(
    method: string,
    args: unknown,
    options: CallOptions = {},
  ): Promise<T[]> {
    const { signal } = callBounds(options);
    await this.#ready(signal);
    const keys = this.discovered;
    if (keys.length === 0) throw this.#noServer();
    return await Promise.all(keys.map((k) => this.#callOne<T>(k, method, args, options)));
  }

  /**
   * Calls every discovered server (after state and group filtering; backing-off servers
   * included); resolves with the first success, rejects if all fail.
   */
  async fork<T = unknown>(method: string, args: unknown, options: CallOptions = {}): Promise<T> {
    const { signal } = callBounds(options);
    await this.#ready(signal);
    const keys = this.discovered;
    if (keys.length === 0) throw this.#noServer();
    try {
      return await Promise.any(keys.map((k) => this.#callOne<T>(k, method, args, options)));
    } catch (e) {
      const errors = (e as AggregateError).errors ?? [e];
      throw errors[errors.length - 1];
    }
  }

  /** Oneway call to one selected server: resolves when written. */
  async send(method: string, args: unknown, options: CallOptions = {}): Promise<void> {
    await this.#ready(options.signal);
    const key = this.#pick(method, args);
    try {
      await this.#pool.withClient(key, (c) => c.send(this.servicePath, method, args, options));
    } catch (e) {
      if (isRetryable(e)) this.#health.markFailure(key, e);
      throw e;
    }
  }

  /**
   * Sends a message built by the caller to one selected server (Go's SendRaw); resolves with
   * the response message (undefined for oneway).
   */
  async sendRaw(req: Message, options: CallOptions = {}): Promise<Message | undefined> {
    await this.#ready(options.signal);
    const key = this.#pick(req.serviceMethod, req.payload);
    const msg = createMessage({
      ...req,
      servicePath: req.servicePath || this.servicePath,
      metadata: { ...req.metadata },
    });
    const send = () => this.#pool.withClient(key, (c) => c.sendRaw(msg, options));
    try {
      // As Go's wrapSendRaw: preCall/postCall around it, the payload as args.
      const res = this.#plugins?.wrapsCalls
        ? await this.#plugins.around({
          address: key,
          servicePath: msg.servicePath,
          serviceMethod: msg.serviceMethod,
          args: msg.payload,
          metadata: msg.metadata,
          oneway: msg.oneway,
        }, send)
        : await send();
      this.#health.markSuccess(key);
      return res;
    } catch (e) {
      if (isRetryable(e)) this.#health.markFailure(key, e);
      throw e;
    }
  }

  /** Closes every connection and stops following the discovery (which stays open). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#unwatch();
    this.discovery.removeEventListener("outage", this.#onOutage);
    this.discovery.removeEventListener("recovered", this.#onRecovered);
    this.#push.close();
    if (this.#selector instanceof WeightedLatencySelector) this.#selector.close();
    await this.#pool.close();
  }
}
