/**
 * Header text between node:http and Go: node:http hands header bytes over as Latin-1 strings
 * and writes them back the same way, while Go reads and writes them as UTF-8 bytes. Also the
 * views of one request's headers that the HTTP side reads (first value, every value).
 *
 * @module
 */

const textDecoder = new TextDecoder();
const textEncoder = new TextEncoder();

/** Go reads header bytes as UTF-8; node:http hands them over as Latin-1. */
export function fromLatin1(s: string): string {
  if (!/[\x80-\xff]/.test(s)) return s;
  const bytes = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) bytes[i] = s.charCodeAt(i);
  return textDecoder.decode(bytes);
}

/** Header text as Go writes it (UTF-8 bytes, CR and LF turned to spaces), as node:http's Latin-1. */
export function toLatin1(s: string): string {
  // deno-lint-ignore no-control-regex
  if (!/[^\x09\x20-\x7e]/.test(s)) return s; // printable ASCII and tabs: as is
  // deno-lint-ignore no-control-regex
  const clean = s.replace(/[\x00-\x08\x0a-\x1f\x7f]/g, " ");
  // deno-lint-ignore no-control-regex
  if (!/[^\x00-\x7f]/.test(clean)) return clean;
  let out = "";
  for (const b of textEncoder.encode(clean)) out += String.fromCharCode(b);
  return out;
}

/**
 * One request's headers from node:http's `rawHeaders` (name, value, name, value...), read as Go
 * reads them (UTF-8). The first value of each name is made at once; the other views only when
 * asked for.
 */
export class RequestHeaders {
  /** The first value of each header, by lower-case name (Go's `Header.Get`). */
  readonly first = new Map<string, string>();
  readonly #raw: readonly string[];
  #all: Headers | undefined;
  #byName: Map<string, string[]> | undefined;

  constructor(raw: readonly string[]) {
    this.#raw = raw;
    for (let i = 0; i + 1 < raw.length; i += 2) {
      const name = raw[i].toLowerCase();
      if (!this.first.has(name)) this.first.set(name, fromLatin1(raw[i + 1]));
    }
  }

  /** Every value, as a `Headers` (for plugins); built on first use. */
  all(): Headers {
    if (this.#all) return this.#all;
    const raw = this.#raw;
    this.#all = new Headers();
    for (let i = 0; i + 1 < raw.length; i += 2) {
      try {
        this.#all.append(raw[i], fromLatin1(raw[i + 1]));
      } catch {
        // a value Headers refuses; the first-value map still has it
      }
    }
    return this.#all;
  }

  /** Every value of a header, by lower-case name (for CORS); the index is built on first use. */
  values(name: string): readonly string[] {
    if (!this.#byName) {
      const raw = this.#raw;
      this.#byName = new Map();
      for (let i = 0; i + 1 < raw.length; i += 2) {
        const k = raw[i].toLowerCase();
        const v = fromLatin1(raw[i + 1]);
        const list = this.#byName.get(k);
        if (list) list.push(v);
        else this.#byName.set(k, [v]);
      }
    }
    return this.#byName.get(name) ?? [];
  }
}
