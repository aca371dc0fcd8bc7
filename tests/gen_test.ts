// `rpcx gen`: TypeScript for typed<S>() from a Go server's Reflection service, from Go source and
// from .proto files. Each generated file is used by a small module that (1) type-checks, (2) has
// `@ts-expect-error` lines that are each exactly one compile error, and (3) runs its calls
// through the generated types against the real Go peer, whose answers the test checks.
import assert from "node:assert/strict";
import { Server } from "@rpcx/core";
import { Reflection } from "@rpcx/core/reflection";
import { GoSyntaxError, parseGo } from "../src/cli/gen/go_parse.ts";
import { declsToTypeScript } from "../src/cli/gen/go_ts.ts";
import { type CliRun, rpcx } from "./support/rpcx_cli.ts";
import { needGoPeer, startGoServer } from "./support/go_peer.ts";
import { REPO_ROOT } from "./support/env.ts";

const GO_SOURCE = `${REPO_ROOT}/tests/interop/go/reflection.go`;

/** A scratch directory inside the repository (so `@rpcx/core` resolves through deno.json). */
async function scratch(): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = `${REPO_ROOT}/tests/types/.gen_${crypto.randomUUID()}`;
  await Deno.mkdir(dir, { recursive: true });
  return { dir, remove: () => Deno.remove(dir, { recursive: true }) };
}

async function denoCheck(file: string): Promise<{ code: number; out: string }> {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["check", "--quiet", file],
    cwd: REPO_ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
    signal: AbortSignal.timeout(120_000),
  }).output();
  const dec = new TextDecoder();
  return { code: r.code, out: dec.decode(r.stdout) + dec.decode(r.stderr) };
}

/**
 * `file` type-checks, and without its `@ts-expect-error` directives it has one error on each
 * line below one (and nowhere else): wrong calls through the generated types do not compile.
 */
async function assertCompilesExceptExpected(file: string): Promise<void> {
  const ok = await denoCheck(file);
  assert.equal(ok.code, 0, ok.out);
  const text = await Deno.readTextFile(file);
  const lines = text.split("\n");
  const expected = lines
    .map((l, i) => l.trim().startsWith("// @ts-expect-error") ? i + 2 : 0)
    .filter((n) => n > 0);
  assert.ok(expected.length >= 3, `only ${expected.length} expectations in ${file}`);
  const stripped = file.replace(/\.ts$/, ".stripped.ts");
  await Deno.writeTextFile(stripped, text.replace(/^[ \t]*\/\/ @ts-expect-error.*$/gm, "//"));
  try {
    const r = await denoCheck(stripped);
    assert.notEqual(r.code, 0);
    const name = stripped.split("/").at(-1)!.replaceAll(".", "\\.");
    const errorLines = new Set(
      [...r.out.matchAll(new RegExp(`^ {4}at \\S+${name}:(\\d+):\\d+`, "gm"))].map((m) =>
        Number(m[1])
      ),
    );
    assert.deepEqual([...errorLines].sort((a, b) => a - b), expected, r.out);
  } finally {
    await Deno.remove(stripped);
  }
}

function assertOk(r: CliRun): void {
  assert.equal(r.code, 0, `exit ${r.code}\n${r.out}\n${r.err}`);
}

const GO_REFLECTION_USE = `
import { Client, type TypedClient } from "@rpcx/core";
import type { Arith, Catalog, Echo, Item } from "./go_reflection.ts";

export async function run(key: string) {
  const client = new Client(key, { timeout: 10_000 });
  try {
    const arith = client.typed<Arith>("Arith");
    const mul = await arith.Mul({ A: 10, B: 20 }, { timeout: 5000 });
    const add = await arith.Add({ A: 2n ** 40n, B: 1 });
    const catalog = client.typed<Catalog>("Catalog");
    const item: Item = {
      Added: new Date("2024-05-06T07:08:09Z"),
      Attrs: { color: "red" },
      CreatedBy: "me",
      ItemID: 7,
      Name: "pen",
      Note: "hi",
      Price: { Cents: 150, Currency: "EUR" },
      Qty: 3,
      Tags: ["a", "b"],
      Weight: 2,
    };
    const receipt = await catalog.Put(item);
    const got = await catalog.Get({ ItemID: 7 });
    const echo = client.typed<Echo>("Echo");
    const wide = await echo.Wide({ N: 2n ** 62n, U: 1 });
    const notes = await echo.Notes();
    return { mul: mul.C, add: add.C, receipt, got, year: got.Added.getUTCFullYear(), wide, notes };
  } finally {
    await client.close();
  }
}

export function wrong(arith: TypedClient<Arith>, catalog: TypedClient<Catalog>, item: Item) {
  // @ts-expect-error: Arith has no Div
  arith.Div({ A: 1, B: 2 });
  // @ts-expect-error: A is an int64, not a string
  arith.Mul({ A: "1", B: 2 });
  // @ts-expect-error: B is missing
  arith.Mul({ A: 1 });
  // @ts-expect-error: an int64 may come back as a bigint
  arith.Mul({ A: 1, B: 2 }).then((r) => Math.abs(r.C));
  // @ts-expect-error: time.Time over MsgPack is a Date
  catalog.Get({ ItemID: 1 }).then((i) => i.Added.toUpperCase());
  // @ts-expect-error: Price is a struct
  catalog.Put({ ...item, Price: 5 });
}
`;

Deno.test("gen -r: types from a Go server's Reflection compile, wrong calls do not, calls reach Go", async () => {
  if (!needGoPeer()) return;
  const go = await startGoServer(undefined, ["--services", "Arith,Echo,Catalog", "--reflection"]);
  const s = await scratch();
  try {
    const gen = await rpcx(["gen", "-r", go.key, "-o", `${s.dir}/go_reflection.ts`]);
    assertOk(gen);
    assert.match(gen.out, /wrote .*go_reflection\.ts \(3 services\)/);
    const ts = await Deno.readTextFile(`${s.dir}/go_reflection.ts`);
    assert.match(
      ts,
      /export interface Arith \{\n {2}Add\(args: Args\): Reply;\n {2}Mul\(args: Args\): Reply;\n\}/,
    );
    assert.doesNotMatch(ts, /interface Reflection/, "the Reflection service is left out");
    // What Go's reflection cannot say (it infers from zero values) reads `unknown`.
    assert.match(ts, / {2}Tags: unknown;/);
    await Deno.writeTextFile(`${s.dir}/use.ts`, GO_REFLECTION_USE);
    await assertCompilesExceptExpected(`${s.dir}/use.ts`);

    const { run } = await import(`file://${s.dir}/use.ts`);
    const r = await run(go.key);
    assert.equal(r.mul, 200);
    assert.equal(r.add, 2 ** 40 + 1);
    assert.deepEqual(r.receipt.Total, { Currency: "EUR", Cents: 450 });
    assert.equal(r.receipt.TagCount, 2);
    assert.equal(r.receipt.AttrCount, 1);
    assert.equal(r.receipt.Note, "hi");
    assert.equal(r.receipt.CreatedBy, "me");
    assert.equal(r.year, 2024);
    assert.equal(r.got.Name, "pen");
    assert.deepEqual(r.got.Tags, ["a", "b"]);
    assert.equal(r.wide.N, 2n ** 62n);
    assert.equal(r.wide.UMax, 2n ** 64n - 1n);
    assert.equal(typeof r.notes.Count, "number");
  } finally {
    await s.remove();
    await go.stop();
  }
});

const GO_SOURCE_USE = `
import { Client, SerializeType, type TypedClient } from "@rpcx/core";
import type { Catalog as MsgpackCatalog, Item } from "./msgpack.ts";
import type { Catalog as JsonCatalog, Item as JsonItem } from "./json.ts";

export async function run(key: string) {
  const mp = new Client(key, { timeout: 10_000 });
  const js = new Client(key, { serializeType: SerializeType.JSON, timeout: 10_000 });
  try {
    const item: Item = {
      CreatedBy: "me",
      ItemID: 11,
      Name: "pen",
      Price: { Currency: "EUR", Cents: 150 },
      Qty: 3,
      Weight: 0.25,
      Tags: ["a", "b"],
      Attrs: { color: "red" },
      Image: new Uint8Array([1, 2, 3]),
      Note: null,
      Added: new Date("2024-05-06T07:08:09Z"),
      Parts: [{ sku: "X1", Qty: 2 }, { sku: "X2", Qty: 5 }],
      Stock: { a: 5, b: 6n },
    };
    const catalog = mp.typed<MsgpackCatalog>("Catalog");
    const receipt = await catalog.Put(item);
    const got = await catalog.Get({ ItemID: 11 });
    const grams: number = receipt.Grams;
    const jitem: JsonItem = {
      created_by: "you",
      item_id: 12,
      name: "cup",
      price: { Currency: "USD", Cents: 200 },
      qty: 2,
      weight: 1.5,
      tags: null,
      attrs: null,
      image: btoa("abcd"),
      note: "n",
      added: "2023-01-02T03:04:05Z",
      parts: [{ sku: "Y", qty: 4 }],
    };
    const jcatalog = js.typed<JsonCatalog>("Catalog");
    const jreceipt = await jcatalog.Put(jitem);
    const jgot = await jcatalog.Get({ item_id: 12 });
    return { receipt, got, grams, jreceipt, jgot };
  } finally {
    await mp.close();
    await js.close();
  }
}

export function wrong(c: TypedClient<MsgpackCatalog>, j: TypedClient<JsonCatalog>, item: Item, jitem: JsonItem) {
  // @ts-expect-error: []string is an array
  c.Put({ ...item, Tags: "a" });
  // @ts-expect-error: *string is a string or null
  c.Put({ ...item, Note: 5 });
  // @ts-expect-error: []byte over MsgPack is a Uint8Array
  c.Put({ ...item, Image: "AQID" });
  // @ts-expect-error: Parts has no omitempty in a msgpack tag, so MsgPack always carries it
  c.Put({ ...item, Parts: undefined });
  // @ts-expect-error: int is an int64: number or bigint
  c.Put(item).then((r) => Math.abs(r.TagCount));
  // @ts-expect-error: over JSON the key is the json tag's: item_id
  j.Get({ ItemID: 1 });
  // @ts-expect-error: []byte over JSON is base64 text
  j.Put({ ...jitem, image: new Uint8Array() });
  // @ts-expect-error: time.Time over JSON is RFC 3339 text
  j.Put({ ...jitem, added: new Date() });
}
`;

Deno.test("gen --go: Go source gives exact types (tags, pointers, maps, bytes, embedded) for MsgPack and JSON", async () => {
  if (!needGoPeer()) return;
  const go = await startGoServer(undefined, ["--services", "Catalog"]);
  const s = await scratch();
  try {
    assertOk(
      await rpcx(["gen", "--go", GO_SOURCE, "--service", "Catalog", "-o", `${s.dir}/msgpack.ts`]),
    );
    assertOk(
      await rpcx([
        "gen",
        "--go",
        GO_SOURCE,
        "--service",
        "Catalog",
        "-s",
        "json",
        "-o",
        `${s.dir}/json.ts`,
      ]),
    );
    const mp = await Deno.readTextFile(`${s.dir}/msgpack.ts`);
    assert.match(mp, /export interface Item extends Audit \{/);
    assert.match(mp, / {2}Stock: Record<string, number \| bigint> \| null;/);
    assert.match(mp, / {2}Image: Uint8Array \| null;/);
    assert.match(mp, / {2}Added: Date;/);
    assert.match(mp, / {2}sku: string;/, "the msgpack tag names the key");
    const js = await Deno.readTextFile(`${s.dir}/json.ts`);
    assert.match(js, / {2}image\?: string \| null;/);
    assert.match(js, / {2}item_id: number \| bigint;/);
    assert.match(js, / {2}created_by: string;/);
    await Deno.writeTextFile(`${s.dir}/use.ts`, GO_SOURCE_USE);
    await assertCompilesExceptExpected(`${s.dir}/use.ts`);

    const { run } = await import(`file://${s.dir}/use.ts`);
    const r = await run(go.key);
    assert.deepEqual(r.receipt, {
      ItemID: 11,
      Total: { Currency: "EUR", Cents: 450 },
      Grams: 250,
      TagCount: 2,
      AttrCount: 1,
      ImageLen: 3,
      Note: "",
      Year: 2024,
      PartQty: 7,
      StockSum: 11,
      CreatedBy: "me",
    });
    assert.deepEqual(r.got.Image, new Uint8Array([1, 2, 3]));
    assert.deepEqual(r.got.Parts, [{ sku: "X1", Qty: 2 }, { sku: "X2", Qty: 5 }]);
    assert.equal(r.got.Note, null);
    assert.ok(r.got.Added instanceof Date);
    assert.equal(r.grams, 250);
    assert.equal(r.jreceipt.ImageLen, 4);
    assert.equal(r.jreceipt.PartQty, 4);
    assert.equal(r.jreceipt.Year, 2023);
    assert.equal(r.jreceipt.CreatedBy, "you");
    assert.equal(r.jgot.image, btoa("abcd"));
    assert.equal(r.jgot.added, "2023-01-02T03:04:05Z");
    assert.equal("stock" in r.jgot, false, "omitempty: left out over JSON");
  } finally {
    await s.remove();
    await go.stop();
  }
});

const PROTO = `syntax = "proto3";
package example;

message ProtoArgs { int32 A = 1; int32 B = 2; }
message ProtoReply { int32 C = 1; }

// Arith multiplies.
service Arith {
  rpc Mul(ProtoArgs) returns (ProtoReply);
}

enum Color { RED = 0; GREEN = 1; }
message Rich {
  int64 big = 1;
  bytes raw = 2;
  repeated string tags = 3;
  map<string, int32> counts = 4;
  Color color = 5;
  ProtoReply inner = 6;
  message Nested { bool ok = 1; }
  Nested nested = 7;
  oneof pick { string name = 8; int32 id = 9; }
  uint64 user_id = 10;
}
message Empty {}
service Store {
  rpc Save(Rich) returns (Rich);
  rpc Ping(Empty) returns (Empty);
  rpc Watch(Rich) returns (stream Rich);
}
`;

const PROTO_USE = `
import protobuf from "protobufjs";
import { Client, CodecRegistry, protobufCodec, SerializeType, type TypedClient } from "@rpcx/core";
import type { Arith, ProtoArgs, Rich, Store } from "./proto.ts";

export async function run(key: string, protoFile: string) {
  const root = await protobuf.load(protoFile);
  const Args = root.lookupType("example.ProtoArgs");
  const Reply = root.lookupType("example.ProtoReply");
  const codecs = new CodecRegistry().register(SerializeType.ProtoBuffer, protobufCodec({
    encode: (v) => Args.encode(Args.fromObject(v as ProtoArgs)).finish(),
    decode: (b) => Reply.toObject(Reply.decode(b), { defaults: true }),
  }));
  const client = new Client(key, { serializeType: SerializeType.ProtoBuffer, codecs, timeout: 10_000 });
  try {
    const arith = client.typed<Arith>("ProtoArith");
    return await arith.Mul({ A: 10, B: 20 }, { timeout: 5000 });
  } finally {
    await client.close();
  }
}

export function wrong(arith: TypedClient<Arith>, store: TypedClient<Store>, rich: Rich) {
  store.Ping();
  store.Save({ userId: "18446744073709551615", color: "GREEN", raw: new Uint8Array(), nested: { ok: true } });
  // @ts-expect-error: A is an int32
  arith.Mul({ A: "x" });
  // @ts-expect-error: a streaming method is left out (rpcx has no streams)
  store.Watch(rich);
  // @ts-expect-error: not a value of enum Color
  store.Save({ color: "BLUE" });
  // @ts-expect-error: protobufjs camelCases user_id
  store.Save({ user_id: 1 });
  // @ts-expect-error: repeated string
  store.Save({ tags: "a" });
}
`;

Deno.test("gen --proto: message, enum and service types; a call through them reaches Go's protobuf Arith", async () => {
  if (!needGoPeer()) return;
  const go = await startGoServer(undefined, ["--services", "ProtoArith"]);
  const s = await scratch();
  try {
    await Deno.writeTextFile(`${s.dir}/arith.proto`, PROTO);
    assertOk(await rpcx(["gen", "--proto", `${s.dir}/arith.proto`, "-o", `${s.dir}/proto.ts`]));
    const ts = await Deno.readTextFile(`${s.dir}/proto.ts`);
    assert.match(
      ts,
      /\/\*\* Arith multiplies\. \*\/\nexport interface Arith \{\n {2}Mul\(args: ProtoArgs\): ProtoReply;\n\}/,
    );
    assert.match(ts, /export type Color = "RED" \| "GREEN" \| 0 \| 1;/);
    assert.match(ts, / {2}nested\?: Rich_Nested \| null;/);
    assert.match(ts, / {2}userId\?: number \| string;/);
    assert.match(ts, / {2}counts\?: Record<string, number>;/);
    await Deno.writeTextFile(`${s.dir}/use.ts`, PROTO_USE);
    await assertCompilesExceptExpected(`${s.dir}/use.ts`);
    const { run } = await import(`file://${s.dir}/use.ts`);
    assert.deepEqual(await run(go.key, `${s.dir}/arith.proto`), { C: 200 });

    // --keep-case: names as written.
    const kept = await rpcx([
      "gen",
      "--proto",
      `${s.dir}/arith.proto`,
      "--keep-case",
      "--service",
      "Store",
    ]);
    assertOk(kept);
    assert.match(kept.out, / {2}user_id\?: number \| string;/);
    assert.doesNotMatch(kept.out, /interface Arith/);
  } finally {
    await s.remove();
    await go.stop();
  }
});

Deno.test("gen -r: from our own server's Reflection, samples' JSON keys kept", async () => {
  const reflection = new Reflection({
    services: {
      Shop: {
        Find: {
          args: { name: "Query", sample: { user_id: 1, urls: [{ href: "a" }], When: new Date(0) } },
          reply: { name: "Result", go: 'type Result struct {\n\tN int `json:"n" msgpack:"n"`\n}' },
        },
      },
    },
  });
  const server = new Server();
  server.use(reflection);
  await server.register({ Find: () => ({ n: 1 }) }, "Shop");
  await server.register(reflection);
  const addr = await server.serve("tcp", "127.0.0.1:0");
  try {
    const r = await rpcx(["gen", "-r", `tcp@${addr}`]);
    assertOk(r);
    assert.match(r.out, /export interface Shop \{\n {2}Find\(args: Query\): Result;\n\}/);
    assert.match(r.out, / {2}user_id: number \| bigint;/);
    assert.match(r.out, / {2}urls: \{\n {4}href: string;\n {2}\}\[\] \| null;/);
    assert.match(r.out, / {2}When: Date;/);
    assert.match(r.out, / {2}n: number \| bigint;/);
  } finally {
    await server.close();
  }
});

Deno.test("gen: usage errors, a server without Reflection, bad Go and bad proto", async () => {
  const none = await rpcx(["gen"]);
  assert.equal(none.code, 2);
  assert.match(none.err, /give one source/);
  const two = await rpcx(["gen", "--go", GO_SOURCE, "--proto", "x.proto"]);
  assert.equal(two.code, 2);
  const missing = await rpcx(["gen", "--go", "/nonexistent/x.go"]);
  assert.equal(missing.code, 2);
  assert.match(missing.err, /cannot read \/nonexistent\/x\.go/);
  const badProto = await rpcx(["gen", "--proto", "/nonexistent/x.proto"]);
  assert.equal(badProto.code, 2);
  // A directory: its .go files (the Go peer's services all together).
  const dir = await rpcx([
    "gen",
    "--go",
    `${REPO_ROOT}/tests/interop/go`,
    "--service",
    "Arith",
    "--service",
    "Catalog",
  ]);
  assertOk(dir);
  assert.match(dir.out, /export interface Arith \{/);
  assert.match(dir.out, /export interface Catalog \{/);
  const noService = await rpcx(["gen", "--go", GO_SOURCE, "--service", "Nope"]);
  assert.equal(noService.code, 1);
  assert.match(noService.err, /no service Nope/);

  const s = await scratch();
  const server = new Server();
  await server.register({ Mul: () => 0 }, "Arith");
  const addr = await server.serve("tcp", "127.0.0.1:0");
  try {
    await Deno.writeTextFile(`${s.dir}/bad.go`, "package main\n\ntype A struct {\n\tB int\n");
    const bad = await rpcx(["gen", "--go", `${s.dir}/bad.go`]);
    assert.equal(bad.code, 1);
    assert.match(bad.err, /bad\.go: line 5: expected a name, found end of text/);
    const noRefl = await rpcx(["gen", "-r", `tcp@${addr}`]);
    assert.equal(noRefl.code, 1);
    assert.match(noRefl.err, /has no Reflection service/);
    const down = await rpcx(["gen", "-r", "tcp@127.0.0.1:1", "-t", "2000"]);
    assert.equal(down.code, 3, down.err);
  } finally {
    await server.close();
    await s.remove();
  }
});

Deno.test("gen: the Go parser reads Go source as Go does (comments, strings, bodies, generics, groups)", () => {
  const src = `// Package shop { not a brace }
package shop

import (
	"context"
	"time" // }
)

const ( A = iota; B )
var table = map[string]int{"}": 1, "{": 2}

/* a block comment with a \` and a "quote" { */
type (
	ID    int64
	Names []string
	Page[T any] struct {
		Items []T \`json:"items"\`
		Next  *string
	}
	Alias = Names
)

type Order struct {
	ID
	*Base \`json:"base_ptr"\`
	X, Y   int32
	When   time.Time
	Lines  [3]Line
	Ch     chan int
	Fn     func(a, b int) (string, error)
	Any    interface{ M() }
	hidden string
	Dash   string \`json:"-"\`
	Str    int64 \`json:"str,string"\`
	Ptrs   []*Line
	ByID   map[int]Line
}
type Line struct{ Qty int }
type Base struct{ Who string }

func helper(s string) string {
	if s == "}" { return "{" }
	return \`}\`
}

func (o *Order) Total(ctx context.Context, q *Page[Line], reply *Page[Order]) error {
	r := '}'
	_ = r
	return nil
}
func (Order) private(ctx context.Context, a *Line, b *Line) error { return nil }
func (o *Order) NotRpcx(a *Line, b *Line) error { return nil }
`;
  const decls = parseGo(src);
  assert.deepEqual(decls.types.map((t) => t.name), [
    "ID",
    "Names",
    "Page",
    "Alias",
    "Order",
    "Line",
    "Base",
  ]);
  assert.deepEqual(decls.methods.map((m) => m.name), ["Total", "private", "NotRpcx"]);
  const json = declsToTypeScript(decls, { serializer: "json" });
  // Order is a service and a data type: the service's interface gets the suffix.
  assert.match(
    json,
    /export interface OrderService \{\n {2}Total\(args: Page<Line>\): Page<Order>;\n\}/,
  );
  assert.match(
    json,
    /export interface Page<T> \{\n {2}items: T\[\] \| null;\n {2}Next: string \| null;\n\}/,
  );
  assert.match(json, /export type ID = number \| bigint;/);
  const order = json.slice(json.indexOf("export interface Order {"));
  assert.match(order, /^export interface Order \{\n {2}ID: ID;\n {2}base_ptr: Base \| null;\n/);
  assert.match(order, / {2}X: number;\n {2}Y: number;/);
  assert.match(order, / {2}When: string;/);
  assert.match(order, / {2}Lines: Line\[\];/);
  assert.match(order, / {2}Ch: unknown;\n {2}Fn: unknown;\n {2}Any: unknown;/);
  assert.doesNotMatch(order, /hidden|Dash/);
  assert.match(order, / {2}str: string;/, 'json:",string" carries the number as text');
  assert.match(order, / {2}Ptrs: \(Line \| null\)\[\] \| null;/);
  assert.match(order, / {2}ByID: Record<number, Line> \| null;/);

  assert.throws(
    () => parseGo("package main\ntype A struct {\n\tB int\n\tC map[string\n}\n"),
    (e) => e instanceof GoSyntaxError && e.line === 4,
  );
  assert.throws(() => parseGo('type A struct { B string `json:"b"'), GoSyntaxError);
});

Deno.test("gen: hostile Go text fails with GoSyntaxError, not a stack overflow", () => {
  const deep = `type A struct {\n\tB ${"[]".repeat(100_000)}int\n}\n`;
  assert.throws(
    () => parseGo(deep),
    (e) => e instanceof GoSyntaxError && /nested at most 200/.test(e.message),
  );
  const wide = `type A struct {\n${
    Array.from({ length: 20_000 }, (_, i) => `\tF${i} int\n`).join("")
  }}\n`;
  assert.equal((parseGo(wide).types[0].type as { fields: unknown[] }).fields.length, 20_000);
});

Deno.test("gen: Go source whose functions return or take func types (`(*T, func() string)`) parses", async () => {
  const { goToTypeScript } = await import("@rpcx/core/cli");
  const out = goToTypeScript(
    [
      "package main",
      "type Args struct { A int }",
      "type Arith int",
      "func newSampler(offsets []int64) (*Args, func() string) { return nil, nil }",
      "func each(f func(map[string]int, chan int) error, s struct{}) {}",
      "func (t *Arith) Mul(ctx context.Context, args *Args, reply *Args) error { return nil }",
    ].join("\n"),
  );
  assert.match(out, /export interface Arith \{/);
  assert.match(out, /Mul\(/);
});
