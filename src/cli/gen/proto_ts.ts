/**
 * TypeScript for `typed<S>()` from `.proto` files, read with protobufjs: an interface per
 * `service` (unary methods; rpcx has no streams), one per message, a union per enum. The types
 * describe messages as protobufjs takes and gives them (`Type.fromObject` / `Type.toObject`):
 * field names camelCased as protobufjs does unless `keepCase`; every field optional (proto3
 * leaves defaults out unless `toObject`'s `defaults` fills them); 64-bit integers
 * `number | string` (`toObject`'s `longs: Number` or `String`); `bytes` `Uint8Array | string`
 * (base64 with `bytes: String`); enums their names or numbers; message fields `T | null`;
 * `repeated` arrays; `map<K, V>` `Record<string, V>`.
 *
 * @module
 */
import type protobuf from "protobufjs";
import { loadPeer } from "../peer.ts";

/** protobufjs, loaded by {@linkcode protoToTypeScript} (on npm an optional peer dependency). */
let pb: typeof protobuf;

/**
 * Options of {@linkcode protoToTypeScript}.
 *
 * @example
 * ```ts
 * import type { ProtoToTsOptions } from "@rpcx/core/cli";
 * const o: ProtoToTsOptions = { keepCase: true, services: ["Arith"] };
 * console.log(o.keepCase);
 * ```
 */
export interface ProtoToTsOptions {
  /** Field names as written in the .proto (protobufjs's `keepCase`); default camelCase. */
  readonly keepCase?: boolean;
  /** Only these services (by name, with or without package); default all. */
  readonly services?: readonly string[];
  /** Where the definitions came from, for the header comment. */
  readonly source?: string;
}

const SCALARS: Record<string, string> = {
  double: "number",
  float: "number",
  int32: "number",
  uint32: "number",
  sint32: "number",
  fixed32: "number",
  sfixed32: "number",
  int64: "number | string",
  uint64: "number | string",
  sint64: "number | string",
  fixed64: "number | string",
  sfixed64: "number | string",
  bool: "boolean",
  string: "string",
  bytes: "Uint8Array | string",
};

const RESERVED = new Set([
  "Array",
  "Date",
  "Map",
  "Object",
  "Promise",
  "Record",
  "Set",
  "Uint8Array",
]);
const IDENT = /^[A-Za-z_$][\w$]*$/;

/** Every message, enum and service under `ns`, depth first. */
function walk(ns: protobuf.NamespaceBase, out: protobuf.ReflectionObject[] = []) {
  for (const o of ns.nestedArray) {
    out.push(o);
    if (o instanceof pb.Namespace || o instanceof pb.Type) walk(o, out);
  }
  return out;
}

/** `.pkg.Outer.Inner` → `Outer_Inner` (the package left out). */
function localName(o: protobuf.ReflectionObject): string {
  const parts: string[] = [];
  for (
    let p: protobuf.ReflectionObject | null = o;
    p && !(p instanceof pb.Root);
    p = p.parent
  ) {
    if (p instanceof pb.Type || p instanceof pb.Enum || p instanceof pb.Service) {
      parts.unshift(p.name);
    } else break;
  }
  return parts.join("_");
}

class ProtoEmitter {
  readonly #names = new Map<protobuf.ReflectionObject, string>();
  readonly #taken = new Set<string>();
  readonly #queue: protobuf.ReflectionObject[] = [];
  readonly #out: string[] = [];

  name(o: protobuf.ReflectionObject): string {
    let n = this.#names.get(o);
    if (n) return n;
    const local = localName(o);
    n = local;
    if (RESERVED.has(n) || this.#taken.has(n)) {
      n = o.fullName.replace(/^\./, "").split(".").map((s) => s[0].toUpperCase() + s.slice(1)).join(
        "_",
      );
    }
    for (let i = 2; RESERVED.has(n) || this.#taken.has(n); i++) n = `${local}${i}`;
    this.#taken.add(n);
    this.#names.set(o, n);
    if (!(o instanceof pb.Service)) this.#queue.push(o);
    return n;
  }

  #fieldType(f: protobuf.FieldBase): string {
    const r = f.resolvedType;
    const one = r
      ? (r instanceof pb.Type ? `${this.name(r)} | null` : this.name(r))
      : SCALARS[f.type] ?? "unknown";
    if (f instanceof pb.MapField) {
      const v = r ? this.name(r) : SCALARS[f.type] ?? "unknown";
      return `Record<string, ${v}>`;
    }
    if (f.repeated) {
      const e = r ? this.name(r) : SCALARS[f.type] ?? "unknown";
      return e.includes(" ") ? `(${e})[]` : `${e}[]`;
    }
    return one;
  }

  #doc(comment: string | null, fallback: string): string {
    const text = (comment ?? "").trim().replaceAll("*/", "* /");
    return text ? `/** ${text.replaceAll("\n", " ")} */` : `/** ${fallback} */`;
  }

  flush(): void {
    while (this.#queue.length) {
      const o = this.#queue.shift()!;
      const name = this.#names.get(o)!;
      if (o instanceof pb.Enum) {
        const values = [
          ...Object.keys(o.values).map((k) => JSON.stringify(k)),
          ...[...new Set(Object.values(o.values))].map(String),
        ];
        this.#out.push(
          `${this.#doc(o.comment, `Enum \`${o.fullName.slice(1)}\`.`)}\nexport type ${name} = ${
            values.join(" | ")
          };`,
        );
      } else if (o instanceof pb.Type) {
        const members = o.fieldsArray.map((f) => {
          const key = IDENT.test(f.name) ? f.name : JSON.stringify(f.name);
          const doc = f.comment
            ? `  /** ${f.comment.trim().replaceAll("*/", "* /").replaceAll("\n", " ")} */\n`
            : "";
          return `${doc}  ${key}?: ${this.#fieldType(f)};`;
        });
        const doc = this.#doc(o.comment, `Message \`${o.fullName.slice(1)}\`.`);
        this.#out.push(
          members.length
            ? `${doc}\nexport interface ${name} {\n${members.join("\n")}\n}`
            : `${doc}\nexport type ${name} = Record<string, never>;`,
        );
      }
    }
  }

  service(s: protobuf.Service): void {
    const lines: string[] = [];
    for (const m of s.methodsArray) {
      m.resolve();
      if (m.requestStream || m.responseStream) {
        lines.push(`  // ${m.name}: a streaming method, which rpcx does not have (left out)`);
        continue;
      }
      const req = m.resolvedRequestType!;
      const res = m.resolvedResponseType!;
      const empty = req.fieldsArray.length === 0;
      lines.push(`  ${m.name}(args${empty ? "?" : ""}: ${this.name(req)}): ${this.name(res)};`);
    }
    const name = this.name(s);
    const doc = this.#doc(
      s.comment,
      `Service \`${s.fullName.slice(1)}\`: \`client.typed<${name}>("${s.name}")\`.`,
    );
    this.#out.push(`${doc}\nexport interface ${name} {\n${lines.join("\n")}\n}`);
  }

  get text(): string {
    return this.#out.join("\n\n");
  }
}

/**
 * TypeScript declarations for `typed<S>()` from `.proto` files (read with protobufjs, imports
 * resolved from the files' directories and protobufjs's bundled `google/protobuf/*.proto`).
 * Rejects with protobufjs's error for an unreadable or malformed file, a `RangeError` when
 * `options.services` names a service that is not there.
 *
 * @example
 * ```ts
 * import { protoToTypeScript } from "@rpcx/core/cli";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(
 *   `${dir}/arith.proto`,
 *   `syntax = "proto3";
 *   message Args { int32 A = 1; int32 B = 2; }
 *   message Reply { int32 C = 1; }
 *   service Arith { rpc Mul (Args) returns (Reply); }`,
 * );
 * console.log(await protoToTypeScript([`${dir}/arith.proto`])); // export interface Arith { Mul(…
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function protoToTypeScript(
  files: readonly string[],
  options: ProtoToTsOptions = {},
): Promise<string> {
  pb ??= (await loadPeer("--proto", () => import("protobufjs"))).default;
  const root = await new pb.Root().load([...files], {
    keepCase: options.keepCase ?? false,
    alternateCommentMode: true, // `//` comments too, as protoc keeps them
  });
  root.resolveAll();
  const all = walk(root);
  let services = all.filter((o): o is protobuf.Service => o instanceof pb.Service);
  if (options.services) {
    const pick = (s: protobuf.Service, n: string) => s.name === n || s.fullName === `.${n}`;
    const missing = options.services.filter((n) => !services.some((s) => pick(s, n)));
    if (missing.length) {
      throw new RangeError(`no service ${missing.join(", ")} in ${files.join(", ")}`);
    }
    services = services.filter((s) => options.services!.some((n) => pick(s, n)));
  }
  const e = new ProtoEmitter();
  for (const s of services) {
    e.service(s);
    e.flush();
  }
  if (services.length === 0) {
    for (const o of all) {
      if (
        (o instanceof pb.Type || o instanceof pb.Enum) &&
        !o.fullName.startsWith(".google.protobuf.")
      ) {
        e.name(o);
      }
    }
    e.flush();
  }
  const keep = options.keepCase
    ? ", field names as written"
    : ", field names camelCased as protobufjs does";
  const header = `// Generated by \`rpcx gen\`${options.source ? ` from ${options.source}` : ""}` +
    ` for protobufjs message objects${keep}. Do not edit.\n`;
  return `${header}\n${e.text}\n`;
}
