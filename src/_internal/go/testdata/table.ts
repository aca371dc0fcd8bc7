/**
 * Reading the tables `tests/interop/go/gorules` writes (Go's own outputs) in the `_test.ts` files
 * of `src/_internal/go/`. Test support only: not published.
 *
 * @module
 */

/** A Go string as the tables carry it: JSON text, or hex when it is not valid UTF-8. */
export interface GoText {
  /** The string, when valid UTF-8. */
  readonly s?: string;
  /** The bytes in hex, when not. */
  readonly hex?: string;
}

/** One row of a table; which fields are set depends on the table. */
export interface Row {
  /** The input. */
  readonly in?: GoText;
  /** A long input: `unit` repeated `times`, then `tail`. */
  readonly gen?: { unit: string; times: number; tail: string };
  /** Go's output. */
  readonly out?: GoText;
  /** Go's error text ("" or absent: none). */
  readonly err?: string;
  /** parseQuery: `[key, values]` sorted by key. */
  readonly values?: [GoText, GoText[]][];
  /** parseQuery of a `gen` input: how many values Go read. */
  readonly count?: number;
  /** encode: the pairs added. */
  readonly pairs?: [string, string][];
  /** parseFloat: Go's float64 bits in hex. */
  readonly bits?: string;
}

/** The bytes of `t` (empty when absent). */
export function bytesOf(t: GoText | undefined): Uint8Array {
  if (t?.hex !== undefined) {
    return Uint8Array.from(t.hex.match(/../g) ?? [], (h) => parseInt(h, 16));
  }
  return new TextEncoder().encode(t?.s ?? "");
}

/** `t` as a string: hex decoded as UTF-8, a bad byte as U+FFFD (what `TextDecoder` reads). */
export function textOf(t: GoText | undefined): string {
  return t?.hex !== undefined ? new TextDecoder().decode(bytesOf(t)) : t?.s ?? "";
}

/** The input of `row`, expanded. */
export function inputOf(row: Row): string {
  return row.gen ? row.gen.unit.repeat(row.gen.times) + row.gen.tail : textOf(row.in);
}

/** `t` for a failure message. */
export function show(t: GoText | undefined): string {
  return t?.hex !== undefined ? `hex ${t.hex}` : JSON.stringify(t?.s ?? "");
}
