/**
 * The TXT record of an rpcx mDNS instance, as Go rpcx writes it:
 * `url.QueryEscape(json.Marshal(services))`, split into 255-byte strings when longer.
 *
 * @module
 */
import { goJsonString } from "../../_internal/go/json.ts";
import { queryEscape, queryUnescape } from "../../_internal/go/url.ts";

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

/**
 * Encodes the TXT string for a list of services exactly as Go rpcx does:
 * `url.QueryEscape(json.Marshal(services))` with Go's field order, `omitempty` and HTML escaping.
 */
export function encodeMdnsText(entries: readonly MdnsServiceEntry[]): string {
  const objects = entries.map((e) => {
    const fields: string[] = [];
    if (e.service) fields.push(`"service":${goJsonString(e.service)}`);
    if (e.meta) fields.push(`"meta":${goJsonString(e.meta)}`);
    if (e.service_address) fields.push(`"service_address":${goJsonString(e.service_address)}`);
    return `{${fields.join(",")}}`;
  });
  return queryEscape(`[${objects.join(",")}]`);
}

/**
 * Decodes a TXT string written by Go rpcx or {@linkcode encodeMdnsText}: URL-query-unescape, then
 * JSON. Entries that are not objects are dropped.
 *
 * @throws {UrlEscapeError} (an `RpcxError`) for a bad `%` escape, `SyntaxError` for text that is
 * not JSON, `TypeError` for JSON that is not an array.
 */
export function decodeMdnsText(text: string): MdnsServiceEntry[] {
  const parsed: unknown = JSON.parse(queryUnescape(text));
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
