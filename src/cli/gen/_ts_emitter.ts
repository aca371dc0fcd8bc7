/**
 * The TypeScript text of Go types, as the chosen serializer carries them (the mapping is in
 * `go_ts.ts`'s module doc): each Go type a service reaches becomes one exported type, named once.
 *
 * @module
 */
import type { GoDecls, GoStructField, GoTypeDecl, GoTypeExpr } from "./_go_ast.ts";
import type { Service } from "./_go_services.ts";
import { tagValue } from "./_struct_tag.ts";

const INT64 = "number | bigint";
const PREDECLARED: Record<string, string> = {
  bool: "boolean",
  string: "string",
  int: INT64,
  int64: INT64,
  uint: INT64,
  uint64: INT64,
  uintptr: INT64,
  int8: "number",
  int16: "number",
  int32: "number",
  rune: "number",
  uint8: "number",
  byte: "number",
  uint16: "number",
  uint32: "number",
  float32: "number",
  float64: "number",
  any: "unknown",
  error: "unknown",
  complex64: "unknown",
  complex128: "unknown",
};
const INTEGERS = new Set(Object.keys(PREDECLARED).filter((k) => /int|byte|rune/.test(k)));

/** Names a generated type may not take: the globals and utility types the output uses. */
const RESERVED = new Set([
  "Array",
  "BigInt",
  "Boolean",
  "Date",
  "Error",
  "Function",
  "Map",
  "Number",
  "Object",
  "Partial",
  "Promise",
  "Record",
  "Set",
  "String",
  "Symbol",
  "Uint8Array",
]);

const IDENT = /^[A-Za-z_$][\w$]*$/;

/** Whether a TS type text is a union at its top level (so `[]` needs parentheses). */
function isUnion(ts: string): boolean {
  let depth = 0;
  for (let i = 0; i < ts.length; i++) {
    const c = ts[i];
    if ("{<([".includes(c)) depth++;
    else if ("}>)]".includes(c)) depth--;
    else if (c === "|" && depth === 0) return true;
  }
  return false;
}

function unptr(t: GoTypeExpr): GoTypeExpr {
  return t.kind === "ptr" ? t.elem : t;
}

/** Writes TypeScript declarations for Go services and the Go types they reach. */
export class Emitter {
  readonly #json: boolean;
  readonly #decls = new Map<string, GoTypeDecl>();
  /** TS name per `pkg.Name` declaration key. */
  readonly #tsNames = new Map<string, string>();
  readonly #taken = new Set<string>();
  readonly #queue: string[] = [];
  readonly #emitted = new Set<string>();
  readonly #out: string[] = [];

  constructor(decls: GoDecls, json: boolean, serviceNames: Set<string>) {
    this.#json = json;
    for (const d of decls.types) {
      // Go's reflection writes `type int int64` for an int argument: a predeclared name keeps
      // its meaning; a type defined twice (each method's copy) keeps its first definition.
      if (PREDECLARED[d.name] !== undefined) continue;
      const key = `${d.pkg}.${d.name}`;
      if (!this.#decls.has(key)) this.#decls.set(key, d);
    }
    for (const n of serviceNames) this.#taken.add(n);
  }

  /** The TS name of declaration `key`, chosen on first use. */
  #tsName(key: string): string {
    let n = this.#tsNames.get(key);
    if (n) return n;
    const d = this.#decls.get(key)!;
    n = d.name;
    if (RESERVED.has(n) || this.#taken.has(n)) n = `${d.pkg[0].toUpperCase()}${d.pkg.slice(1)}${n}`;
    for (let i = 2; RESERVED.has(n) || this.#taken.has(n); i++) n = `${d.name}${i}`;
    this.#taken.add(n);
    this.#tsNames.set(key, n);
    this.#queue.push(key);
    return n;
  }

  /** The declaration a named type refers to from package `pkg`, if any. */
  #lookup(t: GoTypeExpr, pkg: string): string | undefined {
    if (t.kind !== "named" || t.pkg) return undefined;
    const key = `${pkg}.${t.name}`;
    return this.#decls.has(key) ? key : undefined;
  }

  #isStruct(key: string): boolean {
    const d = this.#decls.get(key)!;
    return d.type.kind === "struct";
  }

  /** The TS type of `t`, seen from package `pkg` with type parameters `params` in scope. */
  ts(t: GoTypeExpr, pkg: string, params: readonly string[] = []): string {
    switch (t.kind) {
      case "missing":
      case "func":
      case "chan":
        return "unknown";
      case "interface":
        return "unknown";
      case "ptr": {
        const inner = this.ts(t.elem, pkg, params);
        return inner === "unknown" ? inner : `${inner} | null`;
      }
      case "slice":
      case "array": {
        const e = t.elem;
        if (e.kind === "named" && !e.pkg && (e.name === "byte" || e.name === "uint8")) {
          if (t.kind === "slice") return this.#json ? "string | null" : "Uint8Array | null";
          return this.#json ? "number[]" : "Uint8Array";
        }
        const inner = this.ts(e, pkg, params);
        const arr = isUnion(inner) ? `(${inner})[]` : `${inner}[]`;
        return t.kind === "slice" ? `${arr} | null` : arr;
      }
      case "map": {
        const k = t.key.kind === "named" && !t.key.pkg && INTEGERS.has(t.key.name)
          ? "number"
          : "string";
        return `Record<${k}, ${this.ts(t.elem, pkg, params)}> | null`;
      }
      case "struct":
        return this.#object(t.fields, pkg, params, "");
      case "named": {
        if (t.pkg) return this.#qualified(t.pkg, t.name);
        if (params.includes(t.name)) return t.name;
        const key = this.#lookup(t, pkg);
        if (key) {
          const args = t.args.map((a) => this.ts(a, pkg, params));
          return this.#tsName(key) + (args.length ? `<${args.join(", ")}>` : "");
        }
        return PREDECLARED[t.name] ?? "unknown";
      }
    }
  }

  #qualified(pkg: string, name: string): string {
    if (pkg === "time" && name === "Time") return this.#json ? "string" : "Date";
    if (pkg === "time" && name === "Duration") return INT64;
    if (pkg === "json" && name === "Number") return this.#json ? INT64 : "string";
    return "unknown";
  }

  /** The fields of a struct as TS members (`extends` for embedded structs, when `head` is set). */
  #members(fields: GoStructField[], pkg: string, params: readonly string[]) {
    const members: string[] = [];
    const bases: string[] = [];
    for (const f of fields) {
      const tag = tagValue(f.tag, this.#json ? "json" : "msgpack") ?? "";
      const [tagName, ...opts] = tag.split(",");
      if (tagName === "-" && opts.length === 0) continue;
      const optional = opts.includes("omitempty");
      if (f.names.length === 0) {
        const base = unptr(f.type);
        const key = this.#lookup(base, pkg);
        if (!tagName && key && this.#isStruct(key)) {
          const name = this.ts(base, pkg, params);
          bases.push(f.type.kind === "ptr" ? `Partial<${name}>` : name);
          continue;
        }
        if (base.kind !== "named") continue;
        const name = tagName || base.name;
        if (!tagName && !/^\p{Lu}/u.test(base.name)) continue;
        members.push(this.#member(name, optional, this.ts(f.type, pkg, params)));
        continue;
      }
      for (const goName of f.names) {
        if (!/^\p{Lu}/u.test(goName)) continue;
        let type = this.ts(f.type, pkg, params);
        if (this.#json && opts.includes("string") && /^(number|bigint|boolean| |\|)+$/.test(type)) {
          type = "string";
        }
        members.push(this.#member(tagName || goName, optional, type));
      }
    }
    return { members, bases };
  }

  #member(name: string, optional: boolean, type: string): string {
    return `${IDENT.test(name) ? name : JSON.stringify(name)}${optional ? "?" : ""}: ${type};`;
  }

  /** An inline object type `{ A: number; … }` (nested structs), indented by `indent`. */
  #object(fields: GoStructField[], pkg: string, params: readonly string[], indent: string): string {
    const { members, bases } = this.#members(fields, pkg, params);
    if (members.length === 0 && bases.length === 0) return "Record<string, never>";
    const body = members.length
      ? `{\n${
        members.map((m) => `${indent}    ${m.replaceAll("\n", "\n  ")}`).join("\n")
      }\n${indent}  }`
      : "";
    const parts = [...bases, ...(body ? [body] : [])];
    return parts.join(" & ");
  }

  /** Emits every declaration queued so far (and those they reach). */
  flush(): void {
    while (this.#queue.length) {
      const key = this.#queue.shift()!;
      if (this.#emitted.has(key)) continue;
      this.#emitted.add(key);
      const d = this.#decls.get(key)!;
      const name = this.#tsNames.get(key)!;
      const tp = d.typeParams.length ? `<${d.typeParams.join(", ")}>` : "";
      const doc = `/** Go type \`${d.name}\`. */`;
      if (d.type.kind === "struct" && !d.alias) {
        const { members, bases } = this.#members(d.type.fields, d.pkg, d.typeParams);
        if (members.length === 0 && bases.length === 0) {
          this.#out.push(`${doc}\nexport type ${name}${tp} = Record<string, never>;`);
        } else {
          const ext = bases.length ? ` extends ${bases.join(", ")}` : "";
          const body = members.map((m) => `  ${m}`).join("\n");
          this.#out.push(
            `${doc}\nexport interface ${name}${tp}${ext} {\n${body}${body ? "\n" : ""}}`,
          );
        }
      } else {
        this.#out.push(
          `${doc}\nexport type ${name}${tp} = ${this.ts(d.type, d.pkg, d.typeParams)};`,
        );
      }
    }
  }

  /** The service interface. */
  service(s: Service, name: string): void {
    const lines = s.methods.map((m) => {
      const args = unptr(m.args);
      const argsTs = this.ts(args, s.pkg);
      const reply = this.ts(m.reply.kind === "ptr" ? m.reply.elem : m.reply, s.pkg);
      const empty = argsTs === "Record<string, never>" ||
        (this.#lookup(args, s.pkg) !== undefined && this.#emptyStruct(this.#lookup(args, s.pkg)!));
      return `  ${m.name}(args${empty ? "?" : ""}: ${argsTs}): ${reply};`;
    });
    const doc = `/** Go service \`${s.name}\`: \`client.typed<${name}>("${s.name}")\`. */`;
    this.#out.push(`${doc}\nexport interface ${name} {\n${lines.join("\n")}\n}`);
  }

  #emptyStruct(key: string): boolean {
    const d = this.#decls.get(key)!;
    return d.type.kind === "struct" && d.type.fields.length === 0;
  }

  /** Emits every declaration (when no service was found). */
  all(): void {
    for (const key of this.#decls.keys()) this.#tsName(key);
  }

  get text(): string {
    return this.#out.join("\n\n");
  }
}
