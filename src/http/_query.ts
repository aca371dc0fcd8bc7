/**
 * URLs as Go's net/url reads and writes them: query strings (`url.ParseQuery`, `Values.Encode`)
 * for the `X-RPCX-Meta` header, and the request path HTTP invoke routes on.
 *
 * @module
 */

const HEX_DIGITS = "0123456789ABCDEF";
const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();

function unhex(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1;
}

/** Go's url.QueryUnescape: `+` is a space, `%XX` a byte; throws Go's error text on a bad escape. */
export function goQueryUnescape(s: string): string {
  if (!s.includes("%") && !s.includes("+")) return s;
  const bytes = textEncoder.encode(s);
  const out = new Uint8Array(bytes.length);
  let o = 0;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i];
    if (c === 0x25) {
      const h = i + 2 < bytes.length ? unhex(bytes[i + 1]) : -1;
      const l = i + 2 < bytes.length ? unhex(bytes[i + 2]) : -1;
      if (h < 0 || l < 0) {
        let bad = textDecoder.decode(bytes.subarray(i, Math.min(i + 3, bytes.length)));
        if (bad.length > 3) bad = bad.slice(0, 3);
        throw new Error(`invalid URL escape ${JSON.stringify(bad)}`);
      }
      out[o++] = (h << 4) | l;
      i += 2;
    } else if (c === 0x2b) {
      out[o++] = 0x20;
    } else {
      out[o++] = c;
    }
  }
  return textDecoder.decode(out.subarray(0, o));
}

/**
 * Go's url.ParseQuery keeping the first value of each key (as rpcx does); throws the first error
 * Go reports (a `;` separator, a bad escape).
 */
export function goParseQuery(query: string): Record<string, string> {
  const [values, error] = goParseQueryLenient(query);
  if (error) throw error;
  return values;
}

/** Like {@linkcode goParseQuery}, but returns the pairs that parsed along with the first error. */
export function goParseQueryLenient(query: string): [Record<string, string>, Error | undefined] {
  const out: Record<string, string> = {};
  let first: Error | undefined;
  for (const part of query.split("&")) {
    if (part === "") continue;
    if (part.includes(";")) {
      first ??= new Error("invalid semicolon separator in query");
      continue;
    }
    const eq = part.indexOf("=");
    const rawKey = eq < 0 ? part : part.slice(0, eq);
    const rawValue = eq < 0 ? "" : part.slice(eq + 1);
    let key: string;
    let value: string;
    try {
      key = goQueryUnescape(rawKey);
      value = goQueryUnescape(rawValue);
    } catch (e) {
      first ??= e as Error;
      continue;
    }
    if (!Object.hasOwn(out, key)) out[key] = value;
  }
  return [out, first];
}

/** Go's url.QueryEscape. */
export function goQueryEscape(s: string): string {
  let out = "";
  for (const b of textEncoder.encode(s)) {
    if (
      (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) ||
      b === 0x2d || b === 0x2e || b === 0x5f || b === 0x7e
    ) {
      out += String.fromCharCode(b);
    } else if (b === 0x20) {
      out += "+";
    } else {
      out += "%" + HEX_DIGITS[b >> 4] + HEX_DIGITS[b & 15];
    }
  }
  return out;
}

/** Go's url.Values.Encode of a string map: keys sorted (by bytes), `k=v` joined by `&`. */
export function goEncodeQuery(values: Record<string, string>): string {
  const keys = Object.keys(values).sort((a, b) => compareBytes(a, b));
  return keys.map((k) => `${goQueryEscape(k)}=${goQueryEscape(values[k])}`).join("&");
}

function compareBytes(a: string, b: string): number {
  const x = textEncoder.encode(a);
  const y = textEncoder.encode(b);
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}

/**
 * Go's URL path unescaping of a request target (its query and any `scheme://host` dropped);
 * undefined when an escape is bad.
 */
export function unescapePath(url: string): string | undefined {
  let path = url;
  const q = path.indexOf("?");
  if (q >= 0) path = path.slice(0, q);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(path)) {
    const slash = path.indexOf("/", path.indexOf("//") + 2);
    path = slash < 0 ? "" : path.slice(slash);
  }
  try {
    return decodeURIComponent(path);
  } catch {
    return undefined;
  }
}
