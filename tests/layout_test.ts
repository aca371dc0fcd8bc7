// Layout rules of issues 12 and 27, checked on every src/ file (no sockets, no subprocess): no
// import cycle among src/ files (type-only imports included: a cycle of types is still one
// reader's loop), no folder cycle between the layers listed in NO_FOLDER_CYCLE, plugin hooks run
// only in the chains (CHAINS), and no file over MAX_LINES (400) lines, with no exemption
// (issue 27).
import assert from "node:assert/strict";
import { dirname, join, relative, resolve } from "node:path";
import { REPO_ROOT } from "./support/env.ts";
import { PENDING } from "../tools/check_neutral.ts";

const SRC = join(REPO_ROOT, "src");
const MAX_LINES = 400;

async function sourceFiles(dir: string): Promise<string[]> {
  const files: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    const path = join(dir, e.name);
    if (e.isDirectory) files.push(...await sourceFiles(path));
    else if (/\.(ts|tsx|js|mjs)$/.test(e.name)) files.push(path);
  }
  return files.sort();
}

/**
 * Relative static imports and re-exports of `text` (`from "./x.ts"`, `import "./x.ts"`), outside
 * comments (JSDoc examples import too).
 */
function relativeImports(text: string): string[] {
  const out: string[] = [];
  text = text.split("\n").filter((l) => !/^\s*(\*|\/\/|\/\*)/.test(l)).join("\n");
  const re = /(?:\bfrom|^\s*import)\s*["'](\.{1,2}\/[^"']+)["']/gm;
  for (const m of text.matchAll(re)) out.push(m[1]);
  return out;
}

/** Every import cycle of `graph`, each as its files in order (first file repeated at the end). */
function cycles(graph: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (file: string) => {
    state.set(file, "open");
    stack.push(file);
    for (const next of graph.get(file) ?? []) {
      const s = state.get(next);
      if (s === "open") found.push([...stack.slice(stack.indexOf(next)), next]);
      else if (s === undefined) visit(next);
    }
    stack.pop();
    state.set(file, "done");
  };
  for (const file of graph.keys()) if (!state.has(file)) visit(file);
  return found;
}

const files = await sourceFiles(SRC);
const texts = new Map(
  await Promise.all(files.map(async (f) => [f, await Deno.readTextFile(f)] as const)),
);
/**
 * The files the package ships: src/ without the tests beside their modules (`*_test.ts`) and
 * their tables (`testdata/`), which deno.json's `publish.exclude` leaves out. The runtime rules
 * below are about these; a test may use `Deno.test` and `node:assert`.
 */
const published = new Map(
  [...texts].filter(([f]) => !/_test\.ts$/.test(f) && !/[/\\]testdata[/\\]/.test(f)),
);

Deno.test("layout: no import cycle among src/ files", () => {
  const graph = new Map<string, string[]>();
  for (const [file, text] of texts) {
    graph.set(
      file,
      relativeImports(text).map((spec) => resolve(dirname(file), spec)).filter((t) => texts.has(t)),
    );
  }
  // The graph is not empty: the parser finds the imports it is meant to check.
  assert.ok([...graph.values()].reduce((n, e) => n + e.length, 0) > files.length);
  const found = cycles(graph).map((c) => c.map((f) => relative(REPO_ROOT, f)).join(" -> "));
  assert.deepEqual(found, []);
});

/**
 * Folder pairs with a direction: the first is the lower layer, which never imports the second
 * (type-only imports included), so the two never form a folder cycle.
 */
const NO_FOLDER_CYCLE: [lower: string, upper: string][] = [
  // The server implements the HTTP side's host (src/http/host.ts); the HTTP side knows no server.
  ["http", "server"],
];

Deno.test("layout: no folder cycle between src/http and src/server (the HTTP side imports nothing from src/server)", () => {
  for (const [lower, upper] of NO_FOLDER_CYCLE) {
    const up: string[] = [];
    let down = 0;
    for (const [file, text] of texts) {
      const folder = relative(SRC, file).split("/")[0];
      if (folder !== lower && folder !== upper) continue;
      for (const spec of relativeImports(text)) {
        const target = relative(SRC, resolve(dirname(file), spec)).split("/")[0];
        if (folder === lower && target === upper) {
          up.push(`${relative(REPO_ROOT, file)} -> ${spec}`);
        }
        if (folder === upper && target === lower) down++;
      }
    }
    assert.ok(down > 0, `src/${upper} imports src/${lower} (the rule checks a real edge)`);
    assert.deepEqual(up, [], `src/${lower} imports src/${upper}`);
  }
});

/**
 * The files that run plugin hooks, each applying the documented policy of every hook it runs:
 * the server's chain (ServerPlugin), the registry plugins' lifecycle (RegisterPlugin) and the
 * client's chain (ClientPlugin).
 */
const CHAINS = new Set([
  "src/server/_plugin_chain.ts",
  "src/server/_registries.ts",
  "src/client/_plugin_chain.ts",
]);

/** The text from `at` to the bracket closing the one at `at` (`{`/`(`), or to the next `;`. */
function statementAt(c: string, at: number): string {
  let i = at;
  while (i < c.length && /\s/.test(c[i])) i++;
  if (c[i] !== "{" && c[i] !== "(") return c.slice(i, c.indexOf(";", i) + 1 || c.length);
  const open = c[i], close = open === "{" ? "}" : ")";
  let depth = 0;
  for (let j = i; j < c.length; j++) {
    if (c[j] === open) depth++;
    else if (c[j] === close && --depth === 0) return c.slice(i, j + 1);
  }
  return c.slice(i);
}

/** The optional methods of `interface name { ... }` in `text`: the hooks a plugin may have. */
function hookNames(text: string, name: string): string[] {
  const at = text.indexOf(`export interface ${name} `);
  const block = statementAt(text, text.indexOf("{", at));
  return [...block.matchAll(/^\s*(\w+)\?\(/gm)].map((m) => m[1]);
}

const HOOKS = [
  ...hookNames(texts.get(join(SRC, "server/plugin.ts"))!, "ServerPlugin"),
  ...hookNames(texts.get(join(SRC, "client/plugin.ts"))!, "ClientPlugin"),
];

/**
 * Where `text` runs plugins' hooks itself: an optional call of a hook (`p.preReadRequest?.(`),
 * or a loop over plugins whose body calls a method of the loop's plugin (`for (const p of
 * ...plugins...) p.x(...)`, `plugins.map((p) => p.x(...))`).
 */
function hookCalls(text: string): string[] {
  const c = code(text);
  const found: string[] = [];
  const optional = new RegExp(`\\.\\s*(${HOOKS.join("|")})\\s*\\?\\.\\s*\\(`, "g");
  for (const m of c.matchAll(optional)) found.push(`${m[1]}?.(`);
  const loops: { v: string; head: string; body: number }[] = [];
  for (const m of c.matchAll(/\bfor\s*(?=\(\s*(?:const|let)\s+(\w+)\s+of\b)/g)) {
    const head = statementAt(c, m.index! + m[0].length);
    if (/plugins/i.test(head)) {
      loops.push({ v: m[1], head, body: m.index! + m[0].length + head.length });
    }
  }
  for (
    const m of c.matchAll(
      /plugins[\w$#.()?]*\.(?:forEach|map|some|every|filter|reduce|find)\(\s*(?:async\s*)?\(?\s*(\w+)[^=]*=>/gi,
    )
  ) loops.push({ v: m[1], head: m[0], body: m.index! + m[0].length });
  for (const { v, head, body } of loops) {
    const call = new RegExp(`\\b${v}\\s*\\.\\s*[\\w$]+\\s*(?:\\?\\.)?\\s*\\(`);
    if (call.test(statementAt(c, body))) found.push(head.replace(/\s+/g, " "));
  }
  return found;
}

Deno.test("layout: plugin hooks run only in the chains (no loop calling plugins' hooks elsewhere), so each hook has the one policy its table documents", () => {
  const outside: string[] = [];
  let inChains = 0;
  for (const [file, text] of texts) {
    const rel = relative(REPO_ROOT, file);
    const calls = hookCalls(text);
    if (CHAINS.has(rel)) inChains += calls.length;
    else outside.push(...calls.map((l) => `${rel}: ${l}`));
  }
  assert.ok(HOOKS.length > 20, `the hooks are found: ${HOOKS}`);
  assert.ok(inChains > 10, `the scan finds the chains' own hook calls (${inChains})`);
  assert.deepEqual(outside, []);
});

Deno.test(`layout: no src/ file over ${MAX_LINES} lines, with no exemption`, () => {
  const long: string[] = [];
  for (const [file, text] of texts) {
    const lines = text.split("\n");
    if (lines.at(-1) === "") lines.pop();
    if (lines.length > MAX_LINES) long.push(`${relative(REPO_ROOT, file)} (${lines.length})`);
  }
  // The scan reads the files it is meant to check.
  assert.ok(texts.size > 100, `the scan finds the src/ files (${texts.size})`);
  assert.deepEqual(long, [], `files over ${MAX_LINES} lines (split them)`);
});

/** Every `.ts` file under `dir` (recursive), skipping `.cache`, `native/target` and `node_modules`. */
async function tsFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    if ([".cache", "target", "node_modules", "dist"].includes(e.name)) continue;
    const path = join(dir, e.name);
    if (e.isDirectory) out.push(...await tsFiles(path));
    else if (e.name.endsWith(".ts")) out.push(path);
  }
  return out;
}

const denoJson = JSON.parse(await Deno.readTextFile(join(REPO_ROOT, "deno.json"))) as {
  name: string;
  license: string;
  exports: Record<string, string>;
  imports: Record<string, string>;
};

Deno.test("layout: no @rpcx/core self-map in deno.json; every @rpcx/core specifier in code and docs is an export", async () => {
  // Deno resolves the package's own name through `exports`; a copy in `imports` only drifts.
  const selfMap = Object.keys(denoJson.imports).filter((k) => k.startsWith(denoJson.name));
  assert.deepEqual(selfMap, []);
  const used = new Map<string, string>();
  for (const dir of ["mod.ts", "src", "tests", "examples", "bench"]) {
    const path = join(REPO_ROOT, dir);
    for (const file of dir.endsWith(".ts") ? [path] : await tsFiles(path)) {
      const text = await Deno.readTextFile(file);
      for (const m of text.matchAll(/(?:\bfrom|\bimport\(?)\s*"@rpcx\/core(\/[^"]*)?"/g)) {
        used.set(`.${m[1] ?? ""}`, relative(REPO_ROOT, file));
      }
    }
  }
  assert.ok(used.has(".") && used.size > 5, `the scan finds the imports: ${[...used.keys()]}`);
  const missing = [...used].filter(([sub]) => !(sub in denoJson.exports));
  assert.deepEqual(missing, [], "subpaths imported but not exported (subpath, a file using it)");
});

Deno.test("layout: LICENSE holds the full text of the license deno.json names", async () => {
  assert.equal(denoJson.license, "Apache-2.0");
  const text = await Deno.readTextFile(join(REPO_ROOT, "LICENSE"));
  assert.match(text, /^\s*Apache License\s+Version 2\.0, January 2004\s/);
  assert.match(text, /END OF TERMS AND CONDITIONS/);
});

/** `text` without comment lines and with the contents of one-line string literals blanked. */
function code(text: string): string {
  return text.split("\n").filter((l) => !/^\s*(\*|\/\/|\/\*)/.test(l))
    .map((l) => l.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""')).join("\n");
}

Deno.test("layout: only src/adapter/deno names Deno's global and only src/adapter/bun Bun's; nothing waits in tools/check_neutral.ts's PENDING any more", () => {
  const deno: string[] = [];
  const bun: string[] = [];
  for (const [file, text] of published) {
    const rel = relative(REPO_ROOT, file);
    const c = code(text);
    // The global itself (`Deno.x`, `typeof Deno`), not a property (`globalThis.Deno`, a key
    // `Deno?:` of a type): src/runtime/mod.ts tests for the globals that way.
    if (/(?<![.\w$])Deno\b(?!\??:)/.test(c) && !rel.startsWith("src/adapter/deno/")) deno.push(rel);
    if (/(?<![.\w$])Bun\b(?!\??:)/.test(c) && !rel.startsWith("src/adapter/bun/")) bun.push(rel);
  }
  assert.deepEqual(deno, [], "files naming Deno outside src/adapter/deno");
  assert.deepEqual(bun, [], "files naming Bun outside src/adapter/bun");
  // The seam is complete (issue 24, step A6): a file may not wait for it again.
  assert.deepEqual(PENDING, {});
});

/**
 * `node:` built-ins that behave the same on Deno, Node and Bun and are no runtime seam's
 * business: any src/ file may import them.
 */
const PORTABLE_NODE = new Set([
  "node:async_hooks", // AsyncLocalStorage (server/call_scope.ts): Deno, Node and Bun have it
  "node:buffer",
  "node:crypto",
  "node:dns",
  "node:events",
  "node:fs/promises",
  "node:http",
  "node:https",
  "node:stream",
  "node:zlib",
]);

/** Files outside src/adapter that import node:net, node:tls or node:http2 to open no socket. */
const NET_WITHOUT_SOCKETS: Record<string, string[]> = {
  "src/plugins/ipfilter.ts": ["node:net"], // BlockList, isIP
  "src/registry/_tls_sni.ts": ["node:net", "node:tls"], // isIP; registry clients' TLS options
  "src/registry/dns/resolve.ts": ["node:net"], // isIP
  "src/registry/consul/http.ts": ["node:net"], // the Socket type of node:http's agent hook only
  // wraps the sessions node:http2's connect opens (grpc-js's), to keep their close out of
  // nghttp2's callbacks on Deno; opens none
  "src/registry/_http2_goaway.ts": ["node:http2"],
};

/**
 * Files outside src/adapter that open a socket through node:net themselves, with the reason the
 * seam's `sockets.connect` does not serve them yet.
 */
const OWN_SOCKETS: Record<string, string[]> = {
  // A reachability probe that close() must cut off at once (socket.destroy() mid-connect); the
  // seam's connect takes no AbortSignal yet. node:net behaves the same on Deno, Node and Bun.
  "src/registry/_endpoint_health.ts": ["node:net"],
};

Deno.test("layout: sockets, the OS and the process come through the runtime seam: outside src/adapter only portable node: built-ins (node:net/node:tls only where listed, for no socket)", () => {
  const found: string[] = [];
  for (const [file, text] of published) {
    const rel = relative(REPO_ROOT, file);
    if (rel.startsWith("src/adapter/")) continue;
    const c = text.split("\n").filter((l) => !/^\s*(\*|\/\/|\/\*)/.test(l)).join("\n");
    for (const m of c.matchAll(/(?:\bfrom|\bimport\s*\(?)\s*["'](node:[^"']+)["']/g)) {
      if (PORTABLE_NODE.has(m[1]) || NET_WITHOUT_SOCKETS[rel]?.includes(m[1])) continue;
      if (OWN_SOCKETS[rel]?.includes(m[1])) continue;
      found.push(`${rel}: ${m[1]}`);
    }
  }
  assert.deepEqual(found, []);
});

/**
 * Go's compatibility rules (net/url, encoding/json strings, strconv, http.DetectContentType) are
 * written once, in src/_internal/go/ (issue 27): a function of one of these names anywhere else is
 * a second copy.
 */
const GO_RULE_NAMES =
  /\bfunction\s+(goQueryEscape|goQueryUnescape|goParseQuery\w*|goEncodeQuery|encodeGoValues|goJsonString|goQuote\w*|unescapePath|pathUnescape|queryEscape|queryUnescape|parseQuery|encodeValues|atoi|parseUint\w*|parseInt64|detectContentType)\b/g;

Deno.test("layout: Go's rules are defined once, in src/_internal/go (no copy elsewhere)", () => {
  const found: Record<string, string[]> = {};
  for (const [file, text] of published) {
    const rel = relative(REPO_ROOT, file);
    if (rel.startsWith("src/_internal/go/")) continue;
    const names = [...code(text).matchAll(GO_RULE_NAMES)].map((m) => m[1]);
    if (names.length > 0) found[rel] = names;
  }
  assert.deepEqual(found, {});
  // The pattern finds the rules where they are.
  const home = code(texts.get(join(SRC, "_internal/go/url.ts"))!);
  assert.ok([...home.matchAll(GO_RULE_NAMES)].length >= 4);
});

/**
 * Metadata (`weight=10&group=a`) is read by Go's `url.ParseQuery` (src/_internal/go/url.ts), not
 * by the browser's `URLSearchParams`, which reads `;`, a bad `%` escape and a lone `%` otherwise
 * (issue 27): a `new URLSearchParams(...)` given text or pairs to parse is a second rule. An
 * empty one (a container the edits fill, written out by Go's `Values.Encode`) is fine. The page
 * script of `rpcx ui` (a template literal in src/cli/ui/page.ts) is scanned too.
 */
const BROWSER_QUERY_RULE_LEFT: Record<string, string> = {
  // A registry URL's own query (`etcd://host/base?tls=1&ca=…`): the CLI's URL syntax, written
  // in the WHATWG URL rules, never metadata that Go reads.
  "src/cli/registry/open.ts": "a registry URL's query",
};

Deno.test("layout: metadata is parsed by Go's rules only (no new URLSearchParams(text) outside src/_internal/go; left: only those listed, with their reason)", () => {
  const found: string[] = [];
  for (const [file, text] of published) {
    const rel = relative(REPO_ROOT, file);
    if (rel.startsWith("src/_internal/go/")) continue;
    if (/\bnew URLSearchParams\s*\(\s*[^\s)]/.test(code(text))) found.push(rel);
  }
  // The scan sees the page's script (a template literal) and tells parsing from an empty one.
  assert.ok(
    /\bnew URLSearchParams\s*\(\s*[^\s)]/.test(code("const p = `${new URLSearchParams(m)}`;")),
  );
  assert.ok(
    !/\bnew URLSearchParams\s*\(\s*[^\s)]/.test(
      code("applyAssignments(new URLSearchParams(), a);"),
    ),
  );
  assert.deepEqual(found.sort(), Object.keys(BROWSER_QUERY_RULE_LEFT).sort());
});

/**
 * Timing helpers (a promise bounded by a time or a signal, a sleep a signal ends) are written
 * once, in src/_internal/async.ts (issue 27). No copy is left (the last, etcd/client.ts's
 * withTimeout, went with issue 26); a file that needs one imports src/_internal/async.ts.
 */
const TIMING_NAMES =
  /\b(?:function\s+(withTimeout|sleep|delay|deadline|abortable|abortPromise|within)|class\s+(Sleeper))\b/g;
const TIMING_COPIES_LEFT: Record<string, string[]> = {};

Deno.test("layout: timing helpers are defined once, in src/_internal/async.ts (copies left: only those listed, and all of them still there)", () => {
  const found: Record<string, string[]> = {};
  for (const [file, text] of published) {
    const rel = relative(REPO_ROOT, file);
    if (rel === "src/_internal/async.ts") continue;
    const names = [...code(text).matchAll(TIMING_NAMES)].map((m) => m[1] ?? m[2]);
    if (names.length > 0) found[rel] = names;
  }
  assert.deepEqual(found, TIMING_COPIES_LEFT);
});

/**
 * Where `text` races by hand: a `Promise.race(`, or a `new Promise` whose executor sets a timer
 * (a wait bounded by a time, a sleep), each of which async.ts expresses once with its timer
 * cleared and its listeners removed.
 */
function handRaces(text: string): string[] {
  const c = code(text);
  const found = [...c.matchAll(/\bPromise\.race\(/g)].map(() => "Promise.race(");
  for (const m of c.matchAll(/\bnew Promise\s*(?:<[^>]*>)?\s*(?=\()/g)) {
    const body = statementAt(c, m.index! + m[0].length);
    if (/\bsetTimeout\s*\(/.test(body)) found.push("new Promise(... setTimeout(...) ...)");
  }
  return found;
}

/**
 * Files that keep a timer inside a promise of their own, each with the reason a helper of
 * async.ts does not say the same thing. An entry goes when its file no longer has one.
 */
const HAND_TIMERS_LEFT: Record<string, string> = {
  // The timer acts (it destroys the sockets still open when the grace period ends): it bounds
  // no wait, and the promise is server.close()'s callback.
  "src/_internal/serve_fetch.ts": "a grace timer that destroys sockets",
  // The timer starts the backup call (Go's Failbackup) inside the promise that settles on the
  // first reply: it bounds nothing.
  "src/client/_fail_modes.ts": "the backup call's start",
  // The timer is one of a node:http body's events (data, end, error, aborted, and the time) that
  // end the read, each removing every listener; or a clock shared by the request replaces it.
  "src/http/_body.ts": "one event among a body stream's",
};

Deno.test("layout: no race by hand outside src/_internal/async.ts (no Promise.race, no timer in a new Promise; left: only those listed, with their reason, and all of them still there)", () => {
  const found: string[] = [];
  for (const [file, text] of published) {
    const rel = relative(REPO_ROOT, file);
    if (rel === "src/_internal/async.ts") continue;
    if (handRaces(text).length > 0) found.push(rel);
  }
  // The scan finds what it is meant to: async.ts's own timer promise.
  assert.ok(handRaces(texts.get(join(SRC, "_internal/async.ts"))!).length > 0);
  assert.deepEqual(found.sort(), Object.keys(HAND_TIMERS_LEFT).sort());
});

/**
 * No deprecated aliases in a package never released (0.1.0). The Client's `codec` option (old
 * name of `wireCodec`) is still read by client.ts, whose owner was busy when the aliases went;
 * this entry goes with it.
 */
const DEPRECATED_LEFT: string[] = [];

Deno.test("layout: no @deprecated alias in src/ (left: only those listed, and all of them still there)", () => {
  const found = [...published].filter(([, text]) => /@deprecated\b/.test(text))
    .map(([file]) => relative(REPO_ROOT, file)).sort();
  assert.deepEqual(found, DEPRECATED_LEFT);
});

/**
 * One error contract (issue 27): a bad argument is a built-in `TypeError` or `RangeError`;
 * everything else @rpcx/core throws is an `RpcxError` subclass (a registry's, a
 * `RegistryError`). So no bare `new Error(` in src/, and no class but `RpcxError` extends
 * `Error` itself: no exemption.
 */
const BUILT_IN_ERRORS = new Set(["TypeError", "RangeError", "SyntaxError", "URIError"]);

Deno.test("layout: one error contract: no bare new Error( and no class extending Error but RpcxError", () => {
  const bare: Record<string, number> = {};
  const direct: Record<string, string[]> = {};
  let classes = 0;
  for (const [file, text] of published) {
    const rel = relative(REPO_ROOT, file);
    const c = code(text);
    const n = [...c.matchAll(/\bnew Error\(/g)].length;
    if (n > 0) bare[rel] = n;
    const names = [...c.matchAll(/\bclass\s+(\w+)\s+extends\s+Error\b/g)].map((m) => m[1]);
    classes += names.length;
    const others = names.filter((name) =>
      !(rel === "src/protocol/errors.ts" && name === "RpcxError")
    );
    if (others.length > 0) direct[rel] = others;
  }
  assert.equal(classes, 1 + Object.values(direct).flat().length, "the scan finds RpcxError");
  assert.deepEqual(bare, {}, "bare new Error( per file");
  assert.deepEqual(direct, {}, "classes extending Error itself");
});

Deno.test("layout: every exported error class descends from RpcxError or a built-in error", () => {
  const parent = new Map<string, string>();
  const exported: string[] = [];
  for (const [, text] of published) {
    for (
      const m of code(text).matchAll(
        /\b(export\s+)?(?:abstract\s+)?class\s+(\w+)\s+extends\s+(\w+)/g,
      )
    ) {
      parent.set(m[2], m[3]);
      if (m[1] && /Error$/.test(m[2])) exported.push(m[2]);
    }
  }
  assert.ok(exported.length > 60, `the scan finds the error classes (${exported.length})`);
  const stray = exported.filter((name) => {
    for (let c: string | undefined = name, hops = 0; c && hops < 20; c = parent.get(c), hops++) {
      if (c === "RpcxError" || BUILT_IN_ERRORS.has(c)) return false;
    }
    return true;
  });
  assert.deepEqual(stray, []);
});
