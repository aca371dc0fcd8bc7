// Go's http.DetectContentType (content_type.ts) against the outputs of Go itself
// (testdata/content_type.json, written by tests/interop/go/gorules): every signature Go lists,
// the lengths each needs, leading white space, and the 512-byte window.
import assert from "node:assert/strict";
import table from "./testdata/content_type.json" with { type: "json" };
import { detectContentType } from "./content_type.ts";
import { bytesOf, type Row, show, textOf } from "./testdata/table.ts";

const go = table as unknown as { detectContentType: Row[] };

Deno.test("content_type detectContentType: Go's answer for each sample", () => {
  const rows = go.detectContentType;
  assert.ok(rows.length > 90);
  assert.deepEqual(
    rows.map((r) => [show(r.in), detectContentType(bytesOf(r.in))]),
    rows.map((r) => [show(r.in), textOf(r.out)]),
  );
});
