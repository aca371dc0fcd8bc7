// Go's strconv (strconv.ts) against the outputs of Go itself (testdata/strconv.json, written by
// tests/interop/go/gorules): Atoi, ParseUint, ParseFloat with their NumError texts, Quote, and
// IsPrint over every code point.
import assert from "node:assert/strict";
import table from "./testdata/strconv.json" with { type: "json" };
import { atoi, isPrint, NumError, parseFloat, parseUint, quote } from "./strconv.ts";
import { bytesOf, type Row, show, textOf } from "./testdata/table.ts";

const go = table as unknown as {
  atoi: Row[];
  parseUint: Row[];
  parseFloat: Row[];
  quote: Row[];
  isPrint: string;
};

/** What `f` gives: its value as text, or a NumError's message. */
function outcome(f: () => unknown): string {
  try {
    return `= ${f()}`;
  } catch (e) {
    if (!(e instanceof NumError)) throw e;
    return `! ${e.message}`;
  }
}

/** Go's outcome of an integer row. */
const goOutcome = (row: Row) => row.err ? `! ${row.err}` : `= ${textOf(row.out)}`;

// Our readers take strings: rows whose input is not UTF-8 have no string to give them.
const textRows = (rows: Row[]) => rows.filter((r) => r.in?.hex === undefined);

for (const [name, parse] of [["atoi", atoi], ["parseUint", parseUint]] as const) {
  Deno.test(`strconv ${name}: Go's values and NumError texts`, () => {
    const rows = textRows(go[name]);
    assert.ok(rows.length > 25);
    assert.deepEqual(
      rows.map((r) => [show(r.in), outcome(() => parse(textOf(r.in)))]),
      rows.map((r) => [show(r.in), goOutcome(r)]),
    );
  });
}

/** A float64's bits as 16 hex digits. */
function bits(v: number): string {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, v);
  return view.getBigUint64(0).toString(16).padStart(16, "0");
}

Deno.test("strconv parseFloat: Go's float64 (bit for bit) and NumError texts", () => {
  const rows = textRows(go.parseFloat);
  assert.ok(rows.length > 50);
  const got = rows.map((r) => {
    try {
      const v = parseFloat(textOf(r.in));
      return [show(r.in), Number.isNaN(v) ? "NaN" : bits(v)];
    } catch (e) {
      if (!(e instanceof NumError)) throw e;
      return [show(r.in), `! ${e.message}`];
    }
  });
  // Go returns ±Inf with a range error; we throw, so only the error is compared then.
  const want = rows.map((r) => {
    if (r.err) return [show(r.in), `! ${r.err}`];
    const nan = /^7ff[0-9a-f]*$|^fff[0-9a-f]*$/.test(r.bits!) && !/^[7f]ff0{13}$/.test(r.bits!);
    return [show(r.in), nan ? "NaN" : r.bits];
  });
  assert.deepEqual(got, want);
});

Deno.test("strconv quote: Go's Quote of strings and of bytes that are not UTF-8", () => {
  assert.ok(go.quote.length > 256);
  assert.deepEqual(
    go.quote.map((r) => [show(r.in), quote(bytesOf(r.in))]),
    go.quote.map((r) => [show(r.in), textOf(r.out)]),
  );
  const rows = textRows(go.quote);
  assert.deepEqual(
    rows.map((r) => [show(r.in), quote(textOf(r.in))]),
    rows.map((r) => [show(r.in), textOf(r.out)]),
  );
  // A lone surrogate has no Go form: it is quoted as the U+FFFD TextEncoder would send.
  assert.equal(quote("a\ud800b"), quote("a\ufffdb"));
});

Deno.test("strconv isPrint: Go's IsPrint for every code point (Go's Unicode, not the runtime's)", () => {
  const want = new Uint8Array(0x110000);
  for (const range of go.isPrint.split(",")) {
    const [a, b] = range.split("-").map((h) => Number.parseInt(h, 16));
    want.fill(1, a, b + 1);
  }
  const wrong: string[] = [];
  for (let r = 0; r < 0x110000; r++) {
    if (Number(isPrint(r)) !== want[r]) wrong.push(r.toString(16));
  }
  assert.deepEqual(wrong.slice(0, 20), []);
});
