/**
 * Internal to XClient: one {@linkcode Client} per server, kept while the server is listed; a
 * server that leaves the list has its client closed once its calls under way are done.
 *
 * @module
 */
import { Client } from "./client.ts";
import { type CallTracker, trackedCall } from "./_calls.ts";
import { ClientClosedError, isRetryable } from "./errors.ts";
import type { ServerHealth } from "./_health.ts";
import type { CallOptions, ClientOptions } from "./options.ts";

/** A server's client and the calls under way on it (dialing included). */
export interface Entry {
  readonly key: string;
  readonly client: Client;
  busy: number;
  /** The server left the list: close the client once its calls under way are done. */
  retired: boolean;
  /** Settles one try (made once per server, so a call allocates no handlers). */
  readonly ok: (reply: unknown) => unknown;
  readonly failed: (error: unknown) => never;
  /** Told of a try's outcome by the client itself (one promise less per call). */
  readonly track: CallTracker;
}

/** The clients of the listed servers, and of the retired ones with calls under way. */
export class ClientPool {
  readonly #clients = new Map<string, Entry>();
  /** Clients of servers that left the list, closed once their calls under way are done. */
  readonly #retired = new Set<Entry>();
  /** Closed: no client is made any more (nothing is dialed after the XClient's close). */
  #closed = false;

  /** `options` for each server's Client; outcomes are reported to `health`. */
  constructor(readonly options: ClientOptions, readonly health: ServerHealth) {}

  /** Retires the clients of servers not in `keep`. */
  retireAllBut(keep: Set<string>): void {
    for (const [key, entry] of this.#clients) {
      if (!keep.has(key)) {
        this.#clients.delete(key);
        // Calls under way (e.g. on a server draining for shutdown) still get their replies.
        entry.retired = true;
        this.#retired.add(entry);
        this.#release(entry);
      }
    }
  }

  /** Runs `fn` with the client of `key`, which is not closed by a list change meanwhile. */
  withClient<T>(key: string, fn: (client: Client) => Promise<T>): Promise<T> {
    const entry = this.entry(key);
    entry.busy++;
    let p: Promise<T>;
    try {
      p = fn(entry.client);
    } catch (e) {
      p = Promise.reject(e);
    }
    return p.finally(() => this.done(entry));
  }

  /**
   * One try of `servicePath.method` on `key`: its health is updated from the outcome. Never
   * throws: after `close()` it rejects with {@linkcode ClientClosedError} (nothing is dialed).
   */
  call<T>(
    key: string,
    servicePath: string,
    method: string,
    args: unknown,
    options: CallOptions,
  ): Promise<T> {
    let entry: Entry;
    try {
      entry = this.entry(key);
    } catch (e) {
      return Promise.reject(e);
    }
    entry.busy++;
    const client = entry.client;
    return client[trackedCall]<T>(servicePath, method, args, options, entry.track) ??
      client.call<T>(servicePath, method, args, options).then(
        entry.ok,
        entry.failed,
      ) as Promise<T>;
  }

  /** One call on `entry` is over. */
  done(entry: Entry): void {
    entry.busy--;
    if (entry.retired) this.#release(entry);
  }

  #release(entry: Entry): void {
    if (entry.busy > 0) return;
    if (this.#retired.delete(entry)) void entry.client.close();
  }

  /**
   * The entry of `key`, with a new client if it has none open.
   *
   * @throws {ClientClosedError} once the pool is closed.
   */
  entry(key: string): Entry {
    if (this.#closed) throw new ClientClosedError();
    let e = this.#clients.get(key);
    if (e === undefined || e.client.isClosed) {
      const health = this.health;
      const entry: Entry = {
        key,
        client: new Client(key, this.options),
        busy: 0,
        retired: false,
        ok: (reply) => {
          entry.track(undefined);
          return reply;
        },
        failed: (error) => {
          entry.track(error);
          throw error;
        },
        track: (error) => {
          this.done(entry);
          if (error === undefined) health.markSuccess(key);
          else if (isRetryable(error)) health.markFailure(key, error);
        },
      };
      this.#clients.set(key, e = entry);
    }
    return e;
  }

  /** Closes every client (their pending calls fail with {@linkcode ClientClosedError}). */
  async close(): Promise<void> {
    this.#closed = true;
    const all = [...this.#clients.values(), ...this.#retired].map((e) => e.client);
    this.#clients.clear();
    this.#retired.clear();
    await Promise.all(all.map((c) => c.close()));
  }
}
