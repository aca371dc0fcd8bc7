// The reflection service (Go rpcx's `reflection.New()`): Go's reflection client (rpcx-examples
// reflection/client, as `rpcxpeer reflect-client`) reads our services' text byte for byte as
// Go's server writes it for the same Go types, and our client reads Go's Reflection service.
import assert from "node:assert/strict";
import { Client, Server, ServiceError } from "@rpcx/core";
import { type GoTypeSpec, Reflection, type ReflectionService } from "@rpcx/core/reflection";
import { GO_PEER, needGoPeer, startGoServer } from "./support/go_peer.ts";
import { bounded } from "./support/env.ts";

/** Go's GetService("Arith") for `Arith` with `Args{A, B int}` and `Reply{C int}` (package main). */
const GO_ARITH = "package main\n\ntype Arith struct{}\n\n" +
  ["Add", "Mul"].map((m) =>
    "\ntype Args struct {\n\tA int64 \n\tB int64 \n}\n\ntype Reply struct {\n\tC int64 \n}\n\n" +
    `type (s *Arith) ${m}(ctx context.Context, arg *Args, reply *Reply) error {\n\treturn nil\n}\n`
  ).join("") + "\n";

/** Go's GetService("Reflection"): the service describing itself. */
const GO_REFLECTION = "package reflection\n\ntype Reflection struct{}\n\n" +
  ["GetService", "GetServices"].map((m) =>
    `\n\n\ntype (s *Reflection) ${m}(ctx context.Context, arg *string, reply *string) error {\n` +
    "\treturn nil\n}\n"
  ).join("") + "\n";

/** The zero value of the Go peer's `Item` as MsgPack carries it (Go field names). */
const ITEM_SAMPLE = {
  Added: "0001-01-01T00:00:00Z",
  Attrs: null,
  CreatedBy: "",
  ItemID: 0,
  Name: "",
  Note: null,
  Price: { Cents: 0, Currency: "" },
  Qty: 0,
  Tags: null,
  Weight: 0,
};
const RECEIPT_SAMPLE = {
  AttrCount: 0,
  CreatedBy: "",
  Grams: 0,
  ImageLen: 0,
  ItemID: 0,
  Note: "",
  PartQty: 0,
  StockSum: 0,
  TagCount: 0,
  Total: { Cents: 0, Currency: "" },
  Year: 0,
};

class Arith {
  Mul(a: { A: number; B: number }) {
    return { C: a.A * a.B };
  }
  Add(a: { A: number; B: number }) {
    return { C: a.A + a.B };
  }
}

class Catalog {
  Get(_q: unknown) {
    return {};
  }
  Put(_item: unknown) {
    return {};
  }
}

const ARGS: GoTypeSpec = { name: "Args", sample: { A: 0, B: 0 } };
const REPLY: GoTypeSpec = { name: "Reply", sample: { C: 0 } };

/** Our server with Arith and Catalog described as the Go peer's types, and Reflection. */
async function ourServer(
  withCatalog = true,
): Promise<{ server: Server; addr: string; reflection: Reflection }> {
  const reflection = new Reflection({
    services: {
      Arith: { Mul: { args: ARGS, reply: REPLY }, Add: { args: ARGS, reply: REPLY } },
      Catalog: {
        Get: {
          args: { name: "ItemQuery", sample: { ItemID: 0 } },
          reply: { name: "Item", sample: ITEM_SAMPLE },
        },
        Put: {
          args: { name: "Item", sample: ITEM_SAMPLE },
          reply: { name: "Receipt", sample: RECEIPT_SAMPLE },
        },
      },
    },
  });
  const server = new Server();
  server.use(reflection);
  await server.register(new Arith());
  if (withCatalog) await server.register(new Catalog());
  await server.register(reflection);
  const addr = await server.serve("tcp", "127.0.0.1:0");
  return { server, addr, reflection };
}

interface GoReflectionRun {
  service: string;
  services: string;
  parsed: Record<string, string>;
  out: string;
}

/** rpcx-examples reflection/client against `addr`: GetService(service), GetServices, parsed. */
async function goReflectClient(
  addr: string,
  service: string,
  serializer = "msgpack",
): Promise<GoReflectionRun> {
  const r = await new Deno.Command(GO_PEER!, {
    args: [
      "reflect-client",
      "--addr",
      addr,
      "--service",
      service,
      "--serializer",
      serializer,
      "--parse",
    ],
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(20_000),
  }).output();
  const out = new TextDecoder().decode(r.stdout);
  assert.equal(r.code, 0, out + new TextDecoder().decode(r.stderr));
  const line = (label: string) => {
    const l = out.split("\n").find((x) => x.startsWith(`${label} `));
    assert.ok(l, `no ${label} line in:\n${out}`);
    return JSON.parse(l.slice(label.length + 1)) as string;
  };
  const parsed: Record<string, string> = {};
  for (const m of out.matchAll(/^PARSE (\w+) (.*)$/gm)) parsed[m[1]] = m[2];
  return { service: line("SERVICE"), services: line("SERVICES"), parsed, out };
}

Deno.test("reflection: Go's reflection client reads our Arith exactly as Go's server writes it", async () => {
  if (!needGoPeer()) return;
  const go = await startGoServer(undefined, ["--services", "Arith", "--reflection"]);
  const { server, addr } = await ourServer(false);
  try {
    const fromGo = await goReflectClient(go.key.slice("tcp@".length), "Arith");
    const fromUs = await goReflectClient(addr, "Arith");
    assert.equal(fromGo.service, GO_ARITH, "Go's own answer is the format this test pins");
    assert.equal(fromUs.service, GO_ARITH);
    // Go's struct definitions parse as Go (after `type (s *T)` → `func (s *T)`), ours too.
    assert.equal(fromGo.parsed.SERVICE, "ok");
    assert.equal(fromUs.parsed.SERVICE, "ok", fromUs.out);
    // GetServices: one package line, then each service (Go's map order is random; ours sorted).
    const arithBody = GO_ARITH.replace("package main\n\n", "");
    const arithFirst = "package main\n\n" + arithBody + GO_REFLECTION;
    assert.ok([arithFirst, GO_REFLECTION + GO_ARITH].includes(fromGo.services), fromGo.services);
    assert.equal(fromUs.services, arithFirst);
    // In JSON too (the client's serializer; the answer is the same text).
    assert.equal((await goReflectClient(addr, "Arith", "json")).service, GO_ARITH);
  } finally {
    await server.close();
    await go.stop();
  }
});

Deno.test("reflection: nested structs, time, nil slices and maps laid out as Go lays out Catalog", async () => {
  if (!needGoPeer()) return;
  const go = await startGoServer(undefined, ["--services", "Catalog", "--reflection"]);
  const { server, addr } = await ourServer();
  try {
    const fromGo = await goReflectClient(go.key.slice("tcp@".length), "Catalog");
    const fromUs = await goReflectClient(addr, "Catalog");
    // Go's inference from zero values: time.Time with its import, `any` for nil slices, maps
    // and pointers, int64 for every number, nested structs inline (gofmt alignment restarts
    // after a multi-line field).
    assert.match(
      fromGo.service,
      /import \(\n\t"time"\n\)\n\ntype Item struct \{\n\tAdded {5}time\.Time \n/,
    );
    assert.match(
      fromGo.service,
      /\tPrice {5}struct \{\n\t\tCents {4}int64 {2}\n\t\tCurrency string \n\t\} \n\tQty {4}int64 \n/,
    );
    assert.equal(fromUs.service, fromGo.service);
    // Go's text with an import after a type is not Go; ours is exactly as (un)parseable.
    assert.equal(fromUs.parsed.SERVICE, fromGo.parsed.SERVICE);
  } finally {
    await server.close();
    await go.stop();
  }
});

Deno.test("reflection: our client reads Go's Reflection service; unknown names fail alike", async () => {
  if (!needGoPeer()) return;
  const go = await startGoServer(undefined, ["--services", "Arith", "--reflection"]);
  const { server, addr } = await ourServer();
  const toGo = new Client(go.key, { timeout: 10_000 });
  const toUs = new Client(`tcp@${addr}`, { timeout: 10_000 });
  try {
    for (const c of [toGo, toUs]) {
      const refl = c.typed<ReflectionService>("Reflection");
      assert.equal(await refl.GetService("Arith", { timeout: 5000 }), GO_ARITH);
      assert.equal(await refl.GetService("Reflection"), GO_REFLECTION);
      const all = await refl.GetServices();
      assert.ok(all.includes("type (s *Arith) Mul("), all);
      await assert.rejects(
        refl.GetService("Nope"),
        (e) => e instanceof ServiceError && e.message === "not found service Nope",
      );
    }
  } finally {
    await toGo.close();
    await toUs.close();
    await server.close();
    await go.stop();
  }
});

Deno.test("reflection: registered as a service, only GetService and GetServices are callable", async () => {
  const { server, addr } = await ourServer();
  const c = new Client(`tcp@${addr}`, { timeout: 10_000 });
  try {
    for (const hook of ["afterRegister", "register", "unregister", "start", "name"]) {
      await assert.rejects(
        c.call("Reflection", hook, "Arith"),
        new RegExp(`can't find method ${hook}`),
      );
    }
    // The services are still all there: no call above reached a hook.
    const all = String(await c.call("Reflection", "GetServices", ""));
    assert.deepEqual([...all.matchAll(/^type (\w+) struct\{\}$/gm)].map((m) => m[1]), [
      "Arith",
      "Catalog",
      "Reflection",
    ]);
  } finally {
    await c.close();
    await server.close();
  }
});

Deno.test("reflection: follows register and unregister, before and after serve", async () => {
  const reflection = new Reflection();
  const server = new Server();
  server.use(reflection);
  await server.register(new Arith());
  await server.register({ Ping: () => "pong" }, "Pinger");
  await server.unregister("Pinger"); // before serving: no registry plugin is started yet
  await server.register(reflection);
  server.registerFunction("Fn", function Hello() {
    return "hi";
  });
  const addr = await server.serve("tcp", "127.0.0.1:0");
  const c = new Client(`tcp@${addr}`, { timeout: 10_000 });
  try {
    const names = async () =>
      [
        ...String(await c.call("Reflection", "GetServices", "")).matchAll(
          /^type (\w+) struct\{\}$/gm,
        ),
      ]
        .map((m) => m[1]);
    // Go's reflection sees Register'ed receivers only, not RegisterFunction's functions.
    assert.deepEqual(await names(), ["Arith", "Reflection"]);
    // Not described: Go's format with interface{} (what Go says of types it cannot name).
    assert.match(
      String(await c.call("Reflection", "GetService", "Arith")),
      /type \(s \*Arith\) Mul\(ctx context\.Context, arg \*interface\{\}, reply \*interface\{\}\) error/,
    );
    await server.register({ Ping: () => "pong" }, "Pinger");
    assert.deepEqual(await names(), ["Arith", "Pinger", "Reflection"]);
    // A plain object has no class name: its Go type name is the registered one.
    assert.match(
      String(await c.call("Reflection", "GetService", "Pinger")),
      /^type Pinger struct\{\}$/m,
    );
    await server.unregister("Arith");
    assert.deepEqual(await names(), ["Pinger", "Reflection"]);
    await assert.rejects(c.call("Reflection", "GetService", "Arith"), /not found service Arith/);
  } finally {
    await c.close();
    await server.close();
  }
});

Deno.test("reflection: samples beyond Go's zero values and Go text given as is", () => {
  const reflection = new Reflection({
    packageName: "shop",
    services: {
      Shop: {
        Find: {
          args: {
            name: "Query",
            sample: {
              user_id: 1,
              urls: [{ href: "a", rel: "x" }, { href: "b" }],
              Ratio: 0.5,
              Big: 1n << 63n,
              Raw: new Uint8Array(2),
              Labels: new Map([["k", "v"]]),
              When: new Date(0),
              Maybe: [1, null],
              Empty: {},
            },
          },
          reply: { name: "Result", go: 'type Result struct {\n\tN int `json:"n"`\n}' },
        },
        Count: { args: "string", reply: "int64" },
      },
    },
  });
  class Shop {
    Find() {}
    Count() {}
  }
  reflection.afterRegister("Shop", new Shop());
  assert.equal(
    reflection.GetService("Shop"),
    "package shop\n\ntype Shop struct{}\n\n" +
      "\n\n\ntype (s *Shop) Count(ctx context.Context, arg *string, reply *int64) error {\n\treturn nil\n}\n" +
      '\nimport (\n\t"time"\n)\n\n' +
      "type Query struct {\n" +
      "\tBig    uint64            \n" +
      "\tEmpty  struct{}          \n" +
      "\tLabels map[string]string \n" +
      "\tMaybe  []*int64          \n" +
      "\tRatio  float64           \n" +
      "\tRaw    []byte            \n" +
      "\tWhen   time.Time         \n" +
      '\tURLs   []struct {\n\t\tHref string `json:"href" msgpack:"href"`\n' +
      '\t\tRel  string `json:"rel,omitempty" msgpack:"rel,omitempty"`\n\t} `json:"urls" msgpack:"urls"`\n' +
      '\tUserID int64 `json:"user_id" msgpack:"user_id"`\n' +
      "}\n" +
      '\ntype Result struct {\n\tN int `json:"n"`\n}\n' +
      "\ntype (s *Shop) Find(ctx context.Context, arg *Query, reply *Result) error {\n\treturn nil\n}\n\n",
  );
  assert.throws(
    () => new Reflection({ services: { A: { M: { args: { name: "" } } } } }),
    TypeError,
  );
});

Deno.test("reflection: GetServices over 200 services, one package line per package", async () => {
  const reflection = new Reflection();
  const server = new Server();
  server.use(reflection);
  for (let i = 0; i < 200; i++) await server.register({ M: () => 0 }, `${i % 2 ? "A" : "Z"}${i}`);
  await server.register(reflection);
  const addr = await server.serve("tcp", "127.0.0.1:0");
  const c = new Client(`tcp@${addr}`, { timeout: 10_000 });
  try {
    const text = String(
      await bounded(c.call("Reflection", "GetServices", ""), 5000, "GetServices"),
    );
    assert.equal(text.match(/^type [AZ]\d+ struct\{\}$/gm)?.length, 200);
    assert.equal(text.match(/^package /gm)?.length, 2, "main once, then reflection");
  } finally {
    await c.close();
    await server.close();
  }
});

Deno.test("reflection: a sample that contains itself is refused at construction", () => {
  const loop: Record<string, unknown> = { A: 1 };
  loop.Self = loop;
  assert.throws(
    () => new Reflection({ services: { S: { M: { args: { name: "Loop", sample: loop } } } } }),
    /must not contain itself/,
  );
  // The same object twice (not a cycle) is fine.
  const shared = { X: 1 };
  const ok = new Reflection({
    services: { S: { M: { args: { name: "Two", sample: { P: shared, Q: shared } } } } },
  });
  ok.afterRegister("S", { M() {} });
  assert.match(ok.GetService("S"), /\tP struct \{\n\t\tX int64 \n\t\} \n\tQ struct \{/);
});
