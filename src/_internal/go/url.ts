/**
 * Go's `net/url` query and path rules, which Go rpcx uses for service metadata
 * (`weight=10&group=a`), the HTTP gateway's `X-RPCX-Meta` header and the mDNS TXT record:
 * `QueryEscape`, `QueryUnescape`, `PathUnescape`, `ParseQuery` (with its errors and its limit of
 * 10 000 parameters) and `Values.Encode` (keys sorted by their bytes). Checked against Go's own
 * outputs in `url_test.ts` (`testdata/url.json`).
 *
 * Strings are UTF-8 on the Go side: a lone surrogate is escaped as U+FFFD (what `TextEncoder`
 * writes), and unescaped bytes that are not UTF-8 read as U+FFFD (what `TextDecoder` reads).
 *
 * @module
 */
import { RpcxError } from "../../protocol/errors.ts";
import { quote } from "./strconv.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Go's `url.EscapeError`: a `%` not followed by two hex digits. The message is Go's,
 * `invalid URL escape "%zz"` (the escape's first three bytes, quoted as Go quotes them).
 *
 * @example
 * ```ts
 * import { queryUnescape, UrlEscapeError } from "./url.ts";
 * try {
 *   queryUnescape("a=%zz");
 * } catch (e) {
 *   console.log(e instanceof UrlEscapeError, (e as Error).message); // true invalid URL escape "%zz"
 * }
 * ```
 */
export class UrlEscapeError extends RpcxError {
  /** The bad escape: up to three bytes from its `%`, as text. */
  readonly escape: string;
  /** Creates Go's error for the bytes of a bad escape. */
  constructor(escape: Uint8Array) {
    super(`invalid URL escape ${quote(escape)}`);
    this.escape = decoder.decode(escape);
  }
}

/**
 * The other errors of Go's `url.ParseQuery`: `invalid semicolon separator in query` and
 * `number of URL query parameters exceeded limit`.
 */
export class UrlQueryError extends RpcxError {}

/** Go's limit on the parameters `ParseQuery` reads (`&` count + 1; Go 1.26, GODEBUG unset). */
export const MAX_QUERY_PARAMS = 10_000;

function unhex(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1;
}

/** Go's `unescape` for a query component (`+` is a space) or a path (`+` stays). */
function unescape(s: string, query: boolean): string {
  if (!s.includes("%") && !(query && s.includes("+"))) return s;
  const bytes = encoder.encode(s);
  const out = new Uint8Array(bytes.length);
  let o = 0;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i];
    if (c === 0x25) {
      const h = i + 2 < bytes.length ? unhex(bytes[i + 1]) : -1;
      const l = i + 2 < bytes.length ? unhex(bytes[i + 2]) : -1;
      if (h < 0 || l < 0) throw new UrlEscapeError(bytes.subarray(i, i + 3));
      out[o++] = (h << 4) | l;
      i += 2;
    } else {
      out[o++] = query && c === 0x2b ? 0x20 : c;
    }
  }
  return decoder.decode(out.subarray(0, o));
}

/**
 * Go's `url.QueryUnescape`: `+` is a space, `%XX` a byte.
 *
 * @throws {UrlEscapeError} for a `%` not followed by two hex digits.
 */
export function queryUnescape(s: string): string {
  return unescape(s, true);
}

/**
 * Go's `url.PathUnescape` (what Go's HTTP server does to a request path): `%XX` a byte, `+`
 * kept.
 *
 * @throws {UrlEscapeError} for a `%` not followed by two hex digits.
 */
export function pathUnescape(s: string): string {
  return unescape(s, false);
}

const HEX_DIGITS = "0123456789ABCDEF";

/** Whether Go's `QueryEscape` keeps byte `b` as it is: `A-Z a-z 0-9 - _ . ~`. */
function unreserved(b: number): boolean {
  return (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) ||
    b === 0x2d || b === 0x2e || b === 0x5f || b === 0x7e;
}

/**
 * Go's `url.QueryEscape`: `A-Z a-z 0-9 - _ . ~` kept, a space as `+`, every other byte of the
 * UTF-8 text as `%XX` (upper case).
 *
 * @example
 * ```ts
 * import { queryEscape } from "./url.ts";
 * console.log(queryEscape("a b~*é")); // a+b~%2A%C3%A9
 * ```
 */
export function queryEscape(s: string): string {
  let plain = true;
  for (let i = 0; i < s.length && plain; i++) plain = unreserved(s.charCodeAt(i));
  if (plain) return s;
  let out = "";
  for (const b of encoder.encode(s)) {
    if (unreserved(b)) out += String.fromCharCode(b);
    else if (b === 0x20) out += "+";
    else out += "%" + HEX_DIGITS[b >> 4] + HEX_DIGITS[b & 15];
  }
  return out;
}

/** Go's `url.Values`: each key's values in the order they were added. */
export type GoValues = Map<string, string[]>;

/** What {@linkcode parseQuery} read: the pairs that parsed, and Go's first error, if any. */
export interface ParsedQuery {
  /** The keys and values that parsed (Go's map, in the order the keys first appeared). */
  readonly values: GoValues;
  /** The first error Go reports; the pairs it names were skipped. */
  readonly error: UrlEscapeError | UrlQueryError | undefined;
}

/**
 * Go's `url.ParseQuery`: `&`-separated `key=value` pairs, each unescaped with
 * {@linkcode queryUnescape}; a pair with a `;` or a bad escape is skipped and its error kept
 * (as Go: the first bad escape, unless a `;` came later, whose error wins); more than
 * {@linkcode MAX_QUERY_PARAMS} parameters read nothing.
 * Go's callers in rpcx either ignore metadata with an error (selectors, filters) or keep what
 * parsed (the registry plugins' refresh).
 *
 * @example
 * ```ts
 * import { parseQuery } from "./url.ts";
 * const { values, error } = parseQuery("weight=10&group=a&group=b&x=%zz");
 * console.log(values.get("group"), error?.message); // [ "a", "b" ] invalid URL escape "%zz"
 * ```
 */
export function parseQuery(query: string): ParsedQuery {
  const values: GoValues = new Map();
  let error: UrlEscapeError | UrlQueryError | undefined;
  let params = 1;
  for (let i = query.indexOf("&"); i >= 0; i = query.indexOf("&", i + 1)) params++;
  if (params > MAX_QUERY_PARAMS) {
    return { values, error: new UrlQueryError("number of URL query parameters exceeded limit") };
  }
  for (const part of query === "" ? [] : query.split("&")) {
    if (part.includes(";")) {
      // Go overwrites an earlier error with this one; a bad escape only fills an empty slot.
      error = new UrlQueryError("invalid semicolon separator in query");
      continue;
    }
    if (part === "") continue;
    const eq = part.indexOf("=");
    let key: string;
    let value: string;
    try {
      key = queryUnescape(eq < 0 ? part : part.slice(0, eq));
      value = queryUnescape(eq < 0 ? "" : part.slice(eq + 1));
    } catch (e) {
      if (!(e instanceof UrlEscapeError)) throw e;
      error ??= e;
      continue;
    }
    const list = values.get(key);
    if (list) list.push(value);
    else values.set(key, [value]);
  }
  return { values, error };
}

/** Compares two strings by their UTF-8 bytes (Go's string order). */
export function compareBytes(a: string, b: string): number {
  const x = encoder.encode(a);
  const y = encoder.encode(b);
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}

/**
 * Go's `url.Values.Encode`: `key=value` pairs joined by `&`, keys sorted by their bytes, each
 * key's values in order, both {@linkcode queryEscape}d. Takes Go's `Values`, a record of single
 * values, or pairs (grouped by key as `Values.Add` does).
 *
 * @example
 * ```ts
 * import { encodeValues } from "./url.ts";
 * console.log(encodeValues({ weight: "10", group: "a", tag: "~*" })); // group=a&tag=~%2A&weight=10
 * ```
 */
export function encodeValues(
  values: GoValues | Readonly<Record<string, string>> | Iterable<readonly [string, string]>,
): string {
  let map: GoValues;
  if (values instanceof Map) {
    map = values;
  } else if (Symbol.iterator in values) {
    map = new Map();
    for (const [k, v] of values as Iterable<readonly [string, string]>) {
      const list = map.get(k);
      if (list) list.push(v);
      else map.set(k, [v]);
    }
  } else {
    map = new Map(Object.entries(values).map(([k, v]) => [k, [v]]));
  }
  const keys = [...map.keys()].sort(compareBytes);
  const out: string[] = [];
  for (const k of keys) {
    const key = queryEscape(k);
    for (const v of map.get(k)!) out.push(`${key}=${queryEscape(v)}`);
  }
  return out.join("&");
}
