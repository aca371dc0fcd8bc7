// Go's net/url rules (url.ts) against the outputs of Go itself (testdata/url.json, written by
// tests/interop/go/gorules): QueryEscape, QueryUnescape, PathUnescape, ParseQuery (values,
// first error, the 10 000-parameter limit) and Values.Encode.
import assert from "node:assert/strict";
import table from "./testdata/url.json" with { type: "json" };
import {
  compareBytes,
  encodeValues,
  parseQuery,
  pathUnescape,
  queryEscape,
  queryUnescape,
  UrlEscapeError,
} from "./url.ts";
import { inputOf, type Row, show, textOf } from "./testdata/table.ts";

const go = table as unknown as Record<
  "queryEscape" | "queryUnescape" | "pathUnescape" | "parseQuery" | "encode",
  Row[]
>;

// Our functions take strings: rows whose input is not UTF-8 have no string to give them.
const textRows = (rows: Row[]) => rows.filter((r) => r.in?.hex === undefined);

Deno.test("url queryEscape: Go's QueryEscape", () => {
  const rows = textRows(go.queryEscape);
  assert.ok(rows.length > 20);
  assert.deepEqual(
    rows.map((r) => [show(r.in), queryEscape(textOf(r.in))]),
    rows.map((r) => [show(r.in), textOf(r.out)]),
  );
  // A lone surrogate has no Go form: it is escaped as the U+FFFD TextEncoder sends.
  assert.equal(queryEscape("\ud800"), "%EF%BF%BD");
});

for (
  const [name, unescape] of [["queryUnescape", queryUnescape], [
    "pathUnescape",
    pathUnescape,
  ]] as const
) {
  Deno.test(`url ${name}: Go's value or Go's EscapeError text`, () => {
    const outcome = (s: string) => {
      try {
        return `= ${unescape(s)}`;
      } catch (e) {
        if (!(e instanceof UrlEscapeError)) throw e;
        return `! ${e.message}`;
      }
    };
    const rows = textRows(go[name]);
    assert.ok(rows.length > 20);
    assert.deepEqual(
      rows.map((r) => [show(r.in), outcome(textOf(r.in))]),
      rows.map((r) => [show(r.in), r.err ? `! ${r.err}` : `= ${textOf(r.out)}`]),
    );
  });
}

Deno.test("url parseQuery: Go's values, Go's first error, Go's parameter limit", () => {
  const rows = textRows(go.parseQuery);
  assert.ok(rows.length > 25);
  const got = rows.map((r) => {
    const { values, error } = parseQuery(inputOf(r));
    const keys = [...values.keys()].sort(compareBytes);
    const parsed = r.gen
      ? [...values.values()].reduce((n, v) => n + v.length, 0)
      : keys.map((k) => [k, values.get(k)]);
    return [r.gen ?? show(r.in), parsed, error?.message ?? ""];
  });
  const want = rows.map((r) => [
    r.gen ?? show(r.in),
    r.gen ? r.count ?? 0 : (r.values ?? []).map(([k, vs]) => [textOf(k), vs.map(textOf)]),
    r.err ?? "",
  ]);
  assert.deepEqual(got, want);
});

Deno.test("url encodeValues: Go's Values.Encode (keys sorted by bytes, values in order)", () => {
  assert.ok(go.encode.length > 8);
  assert.deepEqual(
    go.encode.map((r) => [r.pairs ?? [], encodeValues(r.pairs ?? [])]),
    go.encode.map((r) => [r.pairs ?? [], textOf(r.out)]),
  );
  // A record and Go's Values encode the same way.
  assert.equal(encodeValues({ weight: "10", group: "a" }), "group=a&weight=10");
  assert.equal(encodeValues(new Map([["a", ["2", "1"]]])), "a=2&a=1");
});
