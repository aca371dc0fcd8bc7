// Go's encoding/json rules (json.ts) against the outputs of Go itself (testdata/json.json,
// written by tests/interop/go/gorules): json.Marshal of a string, json.Unmarshal of a string
// token, Go's syntax error texts, and the compact, HTML-escaped form of a raw value.
import assert from "node:assert/strict";
import table from "./testdata/json.json" with { type: "json" };
import {
  goCompact,
  goJsonString,
  GoJsonSyntaxError,
  scanGoJson,
  unescapeGoString,
} from "./json.ts";
import { bytesOf, type Row, show, textOf } from "./testdata/table.ts";

const go = table as unknown as Record<
  "marshalString" | "unmarshalString" | "syntax" | "compact",
  Row[]
>;

Deno.test("json goJsonString: Go's json.Marshal of a string", () => {
  // Our encoder takes strings: rows whose input is not UTF-8 have no string to give it.
  const rows = go.marshalString.filter((r) => r.in?.hex === undefined);
  assert.ok(rows.length > 15);
  assert.deepEqual(
    rows.map((r) => [show(r.in), goJsonString(textOf(r.in))]),
    rows.map((r) => [show(r.in), textOf(r.out)]),
  );
  // A lone surrogate is written as U+FFFD, as Go writes a byte that is not UTF-8.
  const bad = go.marshalString.find((r) => r.in?.hex === "ff")!;
  assert.equal(goJsonString("\ud800"), textOf(bad.out));
  assert.equal(goJsonString("a\udc00\ud800b"), String.raw`"a\ufffd\ufffdb"`);
});

Deno.test("json unescapeGoString: Go's json.Unmarshal of a string token", () => {
  const rows = go.unmarshalString;
  assert.ok(rows.length > 10);
  assert.deepEqual(
    rows.map((r) => [show(r.in), unescapeGoString(bytesOf(r.in))]),
    rows.map((r) => [show(r.in), textOf(r.out)]),
  );
});

Deno.test("json scanGoJson: Go's syntax errors, text for text", () => {
  const outcome = (b: Uint8Array) => {
    try {
      scanGoJson(b);
      return "";
    } catch (e) {
      if (!(e instanceof GoJsonSyntaxError)) throw e;
      return e.message;
    }
  };
  const rows = go.syntax;
  assert.ok(rows.length > 40);
  assert.deepEqual(
    rows.map((r) => [show(r.in), outcome(bytesOf(r.in))]),
    rows.map((r) => [show(r.in), r.err ?? ""]),
  );
});

Deno.test("json goCompact: Go's json.Marshal of a json.RawMessage", () => {
  const rows = go.compact;
  assert.ok(rows.length > 8);
  assert.deepEqual(
    rows.map((r) => [show(r.in), goCompact(bytesOf(r.in))]),
    rows.map((r) => [show(r.in), textOf(r.out)]),
  );
});
