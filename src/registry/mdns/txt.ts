/**
 * The TXT record of an rpcx mDNS instance, as Go rpcx writes it:
 * `url.QueryEscape(json.Marshal(services))`, split into 255-byte strings when longer.
 *
 * @module
 */

/**
 * One entry of the TXT JSON array (Go `serviceMeta`; empty fields are left out, as Go's
 * `omitempty` does).
 *
 * @example
 * ```ts
 * import type { MdnsServiceEntry } from "@rpcx/core/mdns";
 * const e: MdnsServiceEntry = { service: "Arith", meta: "weight=10", service_address: "tcp@127.0.0.1:8972" };
 * console.log(e.service);
 * ```
 */
export interface MdnsServiceEntry {
  /** Service path, e.g. `Arith`. */
  service?: string;
  /** Metadata in URL query form. */
  meta?: string;
  /** `network@host:port`. */
  service_address?: string;
}

const UNRESERVED = /[A-Za-z0-9\-_.~]/;
const HEX = "0123456789ABCDEF";

/** Go's `url.QueryEscape`: unreserved bytes kept, space as `+`, the rest `%XX` (upper case). */
function goQueryEscape(s: string): string {
  let out = "";
  for (const b of new TextEncoder().encode(s)) {
    const c = String.fromCharCode(b);
    if (b < 0x80 && UNRESERVED.test(c)) out += c;
    else if (b === 0x20) out += "+";
    else out += "%" + HEX[b >> 4] + HEX[b & 15];
  }
  return out;
}

/** Go's `url.QueryUnescape`: `+` is a space, `%XX` a byte; a malformed escape is an error. */
function goQueryUnescape(s: string): string {
  const input = new TextEncoder().encode(s);
  const bytes = new Uint8Array(input.length);
  let n = 0;
  const hexValue = (b: number) =>
    b >= 0x30 && b <= 0x39
      ? b - 0x30
      : (b | 0x20) >= 0x61 && (b | 0x20) <= 0x66
      ? (b | 0x20) - 87
      : -1;
  for (let i = 0; i < input.length; i++) {
    const b = input[i];
    if (b === 0x25) {
      const hi = hexValue(input[i + 1] ?? 0);
      const lo = hexValue(input[i + 2] ?? 0);
      if (hi < 0 || lo < 0) throw new URIError(`invalid URL escape at byte ${i}`);
      bytes[n++] = hi * 16 + lo;
      i += 2;
    } else {
      bytes[n++] = b === 0x2b ? 0x20 : b;
    }
  }
  return new TextDecoder().decode(bytes.subarray(0, n));
}

/** Go's `json.Marshal` escapes `<`, `>`, `&`, U+2028 and U+2029 inside strings. */
function goJsonString(value: string): string {
  return JSON.stringify(value).replace(
    /[<>&\u2028\u2029]/g,
    (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0"),
  );
}

/**
 * Encodes the TXT string for a list of services exactly as Go rpcx does:
 * `url.QueryEscape(json.Marshal(services))` with Go's field order, `omitempty` and HTML escaping.
 *
 * @example
 * ```ts
 * import { encodeMdnsText } from "@rpcx/core/mdns";
 * console.log(encodeMdnsText([{ service: "Arith", service_address: "tcp@127.0.0.1:8972" }]));
 * // %5B%7B%22service%22%3A%22Arith%22%2C%22service_address%22%3A%22tcp%40127.0.0.1%3A8972%22%7D%5D
 * ```
 */
export function encodeMdnsText(entries: readonly MdnsServiceEntry[]): string {
  const objects = entries.map((e) => {
    const fields: string[] = [];
    if (e.service) fields.push(`"service":${goJsonString(e.service)}`);
    if (e.meta) fields.push(`"meta":${goJsonString(e.meta)}`);
    if (e.service_address) fields.push(`"service_address":${goJsonString(e.service_address)}`);
    return `{${fields.join(",")}}`;
  });
  return goQueryEscape(`[${objects.join(",")}]`);
}

/**
 * Decodes a TXT string written by Go rpcx or {@linkcode encodeMdnsText}: URL-query-unescape, then
 * JSON. Throws on malformed input. Entries that are not objects are dropped.
 *
 * @example
 * ```ts
 * import { decodeMdnsText, encodeMdnsText } from "@rpcx/core/mdns";
 * const txt = encodeMdnsText([{ service: "Arith", meta: "weight=10&group=a", service_address: "tcp@h:1" }]);
 * console.log(decodeMdnsText(txt)[0].meta); // "weight=10&group=a"
 * ```
 */
export function decodeMdnsText(text: string): MdnsServiceEntry[] {
  const parsed: unknown = JSON.parse(goQueryUnescape(text));
  if (parsed === null) return [];
  if (!Array.isArray(parsed)) throw new TypeError("mdns TXT: not a JSON array");
  const out: MdnsServiceEntry[] = [];
  for (const item of parsed) {
    if (typeof item !== "object" || item === null) continue;
    const o = item as Record<string, unknown>;
    const e: MdnsServiceEntry = {};
    if (typeof o.service === "string") e.service = o.service;
    if (typeof o.meta === "string") e.meta = o.meta;
    if (typeof o.service_address === "string") e.service_address = o.service_address;
    out.push(e);
  }
  return out;
}

/** A DNS character-string holds at most 255 bytes: longer TXT text is split (Go clients only
 * read the first string, so they cannot use such a record; ours join the strings). */
export function txtStrings(text: string): string[] {
  const parts: string[] = [];
  for (let i = 0; i < text.length; i += 255) parts.push(text.slice(i, i + 255));
  return parts.length ? parts : [""];
}

/** The TXT strings of a record joined (ours split text longer than 255 bytes). */
export function txtText(data: unknown): string {
  const parts = Array.isArray(data) ? data : [data];
  const utf8 = new TextDecoder();
  return parts.map((p) => typeof p === "string" ? p : p instanceof Uint8Array ? utf8.decode(p) : "")
    .join("");
}
