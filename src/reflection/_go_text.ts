/**
 * Go type definitions from a sample value, as Go rpcx's reflection writes them: Go marshals a
 * zero value of the type to JSON and lets go-jsonstruct (v3.1.0, int type `int64`, no struct
 * tags) infer a Go type from that JSON, gofmt'ed. This module infers the same Go types from a
 * JavaScript value the user gives, and lays them out as gofmt does (aligned columns, and the
 * trailing blanks where Go's emptied tag column was), so an answer about our services reads like
 * Go's answer about a Go service with the same fields.
 *
 * Beyond Go's inference (each documented in the README): a `bigint` beyond int64 reads
 * `uint64`, a `Uint8Array` `[]byte`, a `Map` `map[string]T`, and a field whose key is not its Go
 * name gets the tag `json:"key" msgpack:"key"`, so the definition round-trips under both
 * serializers (Go's has no tags, so such a key is lost).
 *
 * @module
 */

/** The abbreviations go-jsonstruct writes in capitals (`id` → `ID`, `urls` → `URLs`). */
const ABBREVIATIONS = new Set([
  "ACL",
  "API",
  "DB",
  "HTTP",
  "HTTPS",
  "ID",
  "JSON",
  "OS",
  "SQL",
  "SSH",
  "URI",
  "URL",
  "UUID",
  "XML",
  "YAML",
]);

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

/** Splits a camel-case word at changes between lower, upper, digit and other characters. */
function camelSplit(s: string): string[] {
  const classOf = (c: string) =>
    /\p{Ll}/u.test(c) ? 1 : /\p{Lu}/u.test(c) ? 2 : /\p{Nd}/u.test(c) ? 3 : 4;
  const runs: string[][] = [];
  let last = 0;
  for (const c of s) {
    const k = classOf(c);
    if (k === last && runs.length) runs[runs.length - 1].push(c);
    else runs.push([c]);
    last = k;
  }
  // "PDFL" + "oader" → "PDF" + "Loader"
  for (let i = 0; i < runs.length - 1; i++) {
    if (classOf(runs[i][0]) === 2 && classOf(runs[i + 1][0]) === 1) {
      runs[i + 1].unshift(runs[i].pop()!);
    }
  }
  return runs.filter((r) => r.length > 0).map((r) => r.join(""));
}

/**
 * The Go field name go-jsonstruct gives a JSON key: words split at `-`, `_` or case changes,
 * each capitalised (abbreviations in capitals, an all-capitals word as `Ttl`), other characters
 * as `_`, and a leading `_` before a name that starts with no letter.
 */
export function goExportName(key: string): string {
  const words = key.includes("-")
    ? key.split("-")
    : key.includes("_")
    ? key.split("_")
    : camelSplit(key);
  const out = words.map((w) => {
    if (w === "") return w;
    const upper = w.toUpperCase();
    const singular = upper.endsWith("SES")
      ? upper.slice(0, -2)
      : upper.endsWith("S")
      ? upper.slice(0, -1)
      : undefined;
    if (ABBREVIATIONS.has(upper)) return upper;
    if (singular !== undefined && ABBREVIATIONS.has(singular)) {
      return singular + (singular.endsWith("S") ? "es" : "s");
    }
    const [first, ...rest] = [...w];
    if (w === upper) return first + rest.join("").toLowerCase();
    return first.toUpperCase() + rest.join("");
  }).join("");
  let name = [...out].map((c) => /[\p{L}\p{Nd}_]/u.test(c) ? c : "_").join("");
  if (!/^[\p{L}_]/u.test(name)) name = "_" + name;
  return name;
}

/** What was observed of one value (or of all the values at one place in the samples). */
interface Seen {
  n: number;
  nulls: number;
  bools: number;
  ints: number;
  uints: number;
  floats: number;
  strings: number;
  times: number;
  bytes: number;
  arrays: number;
  objects: number;
  maps: number;
  elements?: Seen;
  props?: Map<string, Seen>;
  mapValues?: Seen;
}

function fresh(): Seen {
  return {
    n: 0,
    nulls: 0,
    bools: 0,
    ints: 0,
    uints: 0,
    floats: 0,
    strings: 0,
    times: 0,
    bytes: 0,
    arrays: 0,
    objects: 0,
    maps: 0,
  };
}

const INT64_MAX = (1n << 63n) - 1n;

/** Adds one value, as its JSON/MsgPack encoding would carry it, to `s`. */
function observe(s: Seen, v: unknown, path: Set<unknown> = new Set()): Seen {
  if (typeof v === "object" && v !== null) {
    if (path.has(v)) throw new TypeError("reflection: a sample must not contain itself");
    path.add(v);
    try {
      observeValue(s, v, path);
    } finally {
      path.delete(v);
    }
  } else observeValue(s, v, path);
  return s;
}

function observeValue(s: Seen, v: unknown, path: Set<unknown>): void {
  s.n++;
  if (v === null || v === undefined) s.nulls++;
  else if (typeof v === "boolean") s.bools++;
  else if (typeof v === "bigint") {
    if (v > INT64_MAX) s.uints++;
    else s.ints++;
  } else if (typeof v === "number") {
    if (Number.isInteger(v)) s.ints++;
    else s.floats++;
  } else if (typeof v === "string") {
    if (RFC3339.test(v)) s.times++;
    else s.strings++;
  } else if (v instanceof Date) s.times++;
  else if (v instanceof Uint8Array) s.bytes++;
  else if (Array.isArray(v)) {
    s.arrays++;
    s.elements ??= fresh();
    for (const e of v) observe(s.elements, e, path);
  } else if (v instanceof Map) {
    s.maps++;
    s.mapValues ??= fresh();
    for (const e of v.values()) observe(s.mapValues, e, path);
  } else if (typeof v === "object") {
    s.objects++;
    s.props ??= new Map();
    for (const [k, e] of Object.entries(v)) {
      if (e === undefined) continue; // JSON and our MsgPack leave it out
      let p = s.props.get(k);
      if (!p) s.props.set(k, p = fresh());
      observe(p, e, path);
    }
  } else s.strings++; // functions and symbols: whatever they encode to, a string is closest
}

/** A Go type as a tree, laid out by {@linkcode render}. */
export type GoType =
  | { kind: "name"; name: string }
  | { kind: "struct"; fields: GoField[] }
  | { kind: "slice" | "ptr"; elem: GoType }
  | { kind: "map"; key: string; elem: GoType };

/** One struct field: its Go name, type and tag text (`` `json:"a"` `` or ""). */
export interface GoField {
  name: string;
  type: GoType;
  tag: string;
}

const name = (n: string): GoType => ({ kind: "name", name: n });

/** The Go type of what `s` saw at `n` places (`omitEmpty`: it was missing from some). */
function typeOf(s: Seen, places: number): { type: GoType; omitEmpty: boolean } {
  const kinds = ([
    "bools",
    "ints",
    "uints",
    "floats",
    "strings",
    "times",
    "bytes",
    "arrays",
    "objects",
    "maps",
  ] as const)
    .filter((k) => s[k] > 0);
  const present = s.n - s.nulls;
  const omitEmpty = s.n < places;
  const nullable = s.nulls > 0;
  const numeric = kinds.every((k) => k === "ints" || k === "uints" || k === "floats");
  const textual = kinds.every((k) => k === "strings" || k === "times");
  let t: GoType;
  if (kinds.length === 0) return { type: name("any"), omitEmpty };
  if (kinds.length === 1 && kinds[0] === "arrays" || kinds.length === 1 && kinds[0] === "bytes") {
    // A nil slice is null on the wire: a slice, pointer or not.
    t = kinds[0] === "bytes" ? { kind: "slice", elem: name("byte") } : {
      kind: "slice",
      elem: s.elements && s.elements.n > 0 ? typeOf(s.elements, s.elements.n).type : name("any"),
    };
    return { type: t, omitEmpty };
  }
  if (kinds.length === 1 && kinds[0] === "maps") {
    const v = s.mapValues && s.mapValues.n > 0
      ? typeOf(s.mapValues, s.mapValues.n).type
      : name("any");
    return { type: { kind: "map", key: "string", elem: v }, omitEmpty };
  }
  if (numeric) {
    t = name(s.floats > 0 ? "float64" : s.uints > 0 && s.ints === 0 ? "uint64" : "int64");
  } else if (kinds.length === 1 && kinds[0] === "bools") t = name("bool");
  else if (textual) t = name(s.strings > 0 ? "string" : "time.Time");
  else if (kinds.length === 1 && kinds[0] === "objects") {
    t = structOf(s, present);
    if (t.kind === "struct" && t.fields.length === 0 && !nullable) return { type: t, omitEmpty };
    // an object some places lack (null or absent) is a pointer to it, as go-jsonstruct says
    return {
      type: nullable || s.objects < places ? { kind: "ptr", elem: t } : t,
      omitEmpty: omitEmpty || s.objects < places,
    };
  } else return { type: name("any"), omitEmpty };
  return { type: nullable ? { kind: "ptr", elem: t } : t, omitEmpty };
}

function structOf(s: Seen, objects: number): GoType {
  const fields: GoField[] = [];
  for (const key of [...(s.props?.keys() ?? [])].sort()) {
    const { type, omitEmpty } = typeOf(s.props!.get(key)!, objects);
    const goName = goExportName(key);
    const opts = omitEmpty ? ",omitempty" : "";
    const tag = goName === key && !opts ? "" : `\`json:"${key}${opts}" msgpack:"${key}${opts}"\``;
    fields.push({ name: goName, type, tag });
  }
  return { kind: "struct", fields };
}

/** Whether `t` is laid out on more than one line. */
function multiLine(t: GoType): boolean {
  if (t.kind === "struct") return t.fields.length > 0;
  if (t.kind === "slice" || t.kind === "ptr" || t.kind === "map") return multiLine(t.elem);
  return false;
}

/** Whether `t` names `time.Time` anywhere. */
function usesTime(t: GoType): boolean {
  if (t.kind === "name") return t.name === "time.Time";
  if (t.kind === "struct") return t.fields.some((f) => usesTime(f.type));
  return usesTime(t.elem);
}

const pad = (s: string, w: number) => s + " ".repeat(Math.max(0, w - s.length));

/**
 * The text of `t` at nesting depth `depth` (its inner lines indented by `depth + 1` tabs). Fields
 * are aligned as gofmt aligns them: a column is as wide as its widest cell plus one blank, and a
 * field spanning several lines closes its run of aligned fields (its first line still counts for
 * the name column).
 */
export function render(t: GoType, depth = 0): string {
  switch (t.kind) {
    case "name":
      return t.name;
    case "slice":
      return "[]" + render(t.elem, depth);
    case "ptr":
      return "*" + render(t.elem, depth);
    case "map":
      return `map[${t.key}]` + render(t.elem, depth);
    case "struct": {
      if (t.fields.length === 0) return "struct{}";
      const indent = "\t".repeat(depth + 1);
      const lines: string[] = [];
      let run: GoField[] = [];
      const flush = () => {
        const nameW = Math.max(...run.map((f) => f.name.length)) + 1;
        const single = run.filter((f) => !multiLine(f.type));
        const typeW = single.length ? Math.max(...single.map((f) => render(f.type).length)) + 1 : 0;
        for (const f of run) {
          if (multiLine(f.type)) {
            lines.push(indent + pad(f.name, nameW) + render(f.type, depth + 1) + " " + f.tag);
          } else lines.push(indent + pad(f.name, nameW) + pad(render(f.type), typeW) + f.tag);
        }
        run = [];
      };
      for (const f of t.fields) {
        run.push(f);
        if (multiLine(f.type)) flush();
      }
      if (run.length) flush();
      return "struct {\n" + lines.join("\n") + "\n" + "\t".repeat(depth) + "}";
    }
  }
}

/**
 * The Go definition of type `typeName` inferred from `sample`, as Go rpcx's reflection prints
 * the definition of an argument or reply type (`type Args struct {\n\tA int64 \n}\n`), with an
 * `import ("time")` block before it when it uses `time.Time`. Empty for a sample of `""`, as Go
 * writes nothing for a `string`.
 */
export function goDefinition(typeName: string, sample: unknown): string {
  if (sample === "") return "";
  const { type } = typeOf(observe(fresh(), sample), 0);
  const text = `type ${typeName} ${render(type)}\n`;
  return usesTime(type) ? `import (\n\t"time"\n)\n\n${text}` : text;
}
