/**
 * What the Redis registry's public API names besides its plugin and discovery: the client
 * options and {@linkcode RedisError}. No `ioredis` type appears here, so the typings of
 * `@rpcx/core/redis` do not load ioredis's.
 *
 * @module
 */
import { RegistryError } from "../errors.ts";

/**
 * An error of the Redis registry (a {@linkcode RegistryError}): a Redis command that failed
 * (`reply` is Redis's error code, e.g. `NOPERM`, `WRONGPASS`, `LOADING`, when Redis answered
 * with one; undefined, and `unavailable` true, when the connection failed or timed out), or the
 * plugin used before `start`. A bad option is a `TypeError` or `RangeError`.
 *
 * @example
 * ```ts
 * import { RedisError } from "@rpcx/core/redis";
 * const e = new RedisError("SCAN", "NOPERM this user has no permissions", "NOPERM");
 * console.log(e.message, e.unavailable); // redis: SCAN: NOPERM this user has no permissions false
 * ```
 */
export class RedisError extends RegistryError {
  /** Redis's error code when Redis answered with an error, else undefined. */
  readonly reply: string | undefined;
  /**
   * Creates the error for `operation` (e.g. `SET` or `connect`); without a `reply` the Redis
   * server was not reached (`unavailable`), unless `unavailable` says otherwise.
   */
  constructor(
    operation: string,
    detail: string,
    reply?: string,
    options?: ErrorOptions & { unavailable?: boolean },
  ) {
    super(`redis: ${operation}: ${detail}`, {
      ...options,
      registry: "redis",
      operation,
      unavailable: options?.unavailable ?? reply === undefined,
    });
    this.reply = reply;
  }
}

/**
 * How to reach Redis; shared by {@linkcode RedisRegisterPlugin} and {@linkcode RedisDiscovery}.
 * Go's rpcx-redis takes `store.Config`: `Password` and `Bucket` (the database index) are read
 * by libkv's Redis store; it has no user name and refuses TLS, so a Go peer needs a Redis
 * reachable without them.
 *
 * @example
 * ```ts
 * import type { RedisClientOptions } from "@rpcx/core/redis";
 * const o: RedisClientOptions = { password: "secret", db: 2, dialTimeout: 3000 };
 * console.log(o.db);
 * ```
 */
export interface RedisClientOptions {
  /**
   * Password (`requirepass`, or the password of `username`). Go: `store.Config.Password`.
   */
  password?: string;
  /** ACL user (Redis 6+), sent with `password` as `AUTH user password`. Not in Go's libkv. */
  username?: string;
  /** Database index (`SELECT`); default 0. Go: `store.Config.Bucket` (its decimal text). */
  db?: number;
  /**
   * TLS (Redis `tls-port`): the CA that signed Redis's certificate (PEM; default: the system
   * roots), and for `tls-auth-clients yes` this client's certificate and key (PEM).
   * `servername`: the name to check the certificate against when it differs from the host.
   * A server given as `rediss://host:port` uses TLS even without this option. Go's libkv has
   * no TLS for Redis.
   */
  tls?: {
    ca?: string | Uint8Array;
    cert?: string | Uint8Array;
    key?: string | Uint8Array;
    servername?: string;
  };
  /**
   * Bound of the connect and of each Redis command in ms (Go's libkv: 5 s dial, 30 s read);
   * default 5000.
   */
  dialTimeout?: number;
  /**
   * Extra options for the `ioredis` client (its `RedisOptions`, e.g. `{ keepAlive: 10_000 }`),
   * applied last, over ours.
   */
  redisOptions?: Record<string, unknown>;
}
