/**
 * Data tokens, as Go rpcx issues them: 32 random bytes (`crypto/rand`), kept in a table of at
 * most `waitNum` entries where a new one pushes out the oldest (Go: `lru.New(waitNum)`), and
 * removed when used. Beyond Go: a token also expires `tokenTimeout` ms after it was issued, and
 * the table remembers (within the same bound) why a token it no longer holds is gone, so a
 * refusal says `used`, `expired` or `evicted` rather than only `unknown`.
 *
 * The low bit of the first byte marks a token issued to a client that asked for status frames
 * (see `_wire.ts`): the server may then write a refusal to a connection whose token it no
 * longer knows. Go clients never ask, so their tokens never carry it.
 *
 * @module
 */
import type { TokenRefusal } from "./errors.ts";

/** Token length in bytes (Go: `make([]byte, 32)`). */
export const TOKEN_LENGTH = 32;

/** Whether the client that got `token` asked for status frames. */
export function wantsStatus(token: Uint8Array): boolean {
  return (token[0] & 1) === 1;
}

function key(token: Uint8Array): string {
  let s = "";
  for (const b of token) s += b.toString(16).padStart(2, "0");
  return s;
}

interface Entry<T> {
  value: T;
  expires: number;
}

/** What {@linkcode TokenTable.take} found. */
export type TokenTaken<T> = { value: T } | { refused: TokenRefusal };

/** Issued, not yet used tokens, bounded in count and age. */
export class TokenTable<T> {
  readonly #waitNum: number;
  readonly #timeout: number;
  readonly #live = new Map<string, Entry<T>>();
  readonly #gone = new Map<string, TokenRefusal>();

  /**
   * At most `waitNum` tokens wait (an integer ≥ 1); each for at most `timeout` ms (0: no
   * expiry, as Go). Throws RangeError on other values.
   */
  constructor(waitNum: number, timeout: number) {
    if (!Number.isInteger(waitNum) || waitNum < 1) {
      throw new RangeError(`waitNum must be an integer >= 1, got ${waitNum}`);
    }
    if (!(timeout >= 0)) throw new RangeError(`tokenTimeout must be >= 0 ms, got ${timeout}`);
    this.#waitNum = waitNum;
    this.#timeout = timeout;
  }

  /** Tokens waiting for their connection. */
  get size(): number {
    this.#expire(Date.now());
    return this.#live.size;
  }

  #retire(k: string, why: TokenRefusal): void {
    this.#live.delete(k);
    this.#gone.delete(k);
    this.#gone.set(k, why);
    if (this.#gone.size > this.#waitNum) this.#gone.delete(this.#gone.keys().next().value!);
  }

  /** Drops expired tokens: the oldest come first (every token lives as long). */
  #expire(now: number): void {
    if (this.#timeout === 0) return;
    for (const [k, e] of this.#live) {
      if (e.expires > now) break;
      this.#retire(k, "expired");
    }
  }

  /** A new token for `value`; `status` marks it (low bit of byte 0) for status frames. */
  issue(value: T, status: boolean): Uint8Array {
    const now = Date.now();
    this.#expire(now);
    const token = crypto.getRandomValues(new Uint8Array(TOKEN_LENGTH));
    token[0] = status ? token[0] | 1 : token[0] & 0xfe;
    while (this.#live.size >= this.#waitNum) {
      this.#retire(this.#live.keys().next().value!, "evicted");
    }
    this.#live.set(key(token), { value, expires: this.#timeout ? now + this.#timeout : Infinity });
    return token;
  }

  /** Takes `token` (once): its value, or why it is refused. */
  take(token: Uint8Array): TokenTaken<T> {
    const k = key(token);
    const e = this.#live.get(k);
    if (!e) return { refused: this.#gone.get(k) ?? "unknown" };
    if (e.expires <= Date.now()) {
      this.#retire(k, "expired");
      return { refused: "expired" };
    }
    this.#retire(k, "used");
    return { value: e.value };
  }

  /** Forgets every token. */
  clear(): void {
    this.#live.clear();
    this.#gone.clear();
  }
}
