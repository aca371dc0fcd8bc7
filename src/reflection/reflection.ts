/**
 * The reflection service (Go rpcx's `reflection` package): a server plugin that remembers the
 * services registered on the server and a service `Reflection` answering `GetService(name)` and
 * `GetServices()` with their description as Go source text, in Go's format, so Go's reflection
 * client (rpcx-examples `reflection/client`) reads our services as it reads Go's, and
 * `rpcx gen` turns either into TypeScript types.
 *
 * @module
 */
import { RpcxError } from "../protocol/errors.ts";
import { collectMethods } from "../server/service.ts";
import { goDefinition } from "./_go_text.ts";

/**
 * The Go type of a method's argument or reply: its Go name (as in `arg *Args`) and, optionally,
 * its definition, either inferred from a `sample` value or given as Go text (`go`, printed as
 * given). A plain string is a name without a definition (`"string"`, `"int64"`, or a type
 * defined by another method).
 *
 * `sample` is read as Go reads the JSON of a zero value: a whole number is `int64`, a number
 * with a fraction `float64`, a string `string` (an RFC 3339 date or a `Date` `time.Time`),
 * `null` `any`, an object a struct with one field per key (keys sorted, names capitalised as Go
 * writes them: `item_id` → `ItemID`), an array a slice of its elements' type. Beyond Go: a
 * `bigint` beyond int64 is `uint64`, a `Uint8Array` `[]byte`, a `Map` `map[string]T`, and a key
 * that is not its Go name gets the tag `json:"key" msgpack:"key"`.
 *
 * @example
 * ```ts
 * import type { GoTypeSpec } from "@rpcx/core/reflection";
 * const args: GoTypeSpec = { name: "Args", sample: { A: 0, B: 0 } };
 * const reply: GoTypeSpec = { name: "Reply", go: "type Reply struct {\n\tC int `json:\"c\"`\n}\n" };
 * const name: GoTypeSpec = "string";
 * console.log(args, reply, name);
 * ```
 */
export type GoTypeSpec = string | {
  /** The Go type name printed in the method's signature. */
  readonly name: string;
  /** A value whose shape defines the type (ignored when `go` is given). */
  readonly sample?: unknown;
  /** The Go definition, printed as given (a newline is added when it lacks its last one). */
  readonly go?: string;
};

/**
 * The Go types of one method: `args` and `reply`. Either left out prints `interface{}` (what a
 * method says when its types are not known).
 *
 * @example
 * ```ts
 * import type { MethodTypes } from "@rpcx/core/reflection";
 * const mul: MethodTypes = {
 *   args: { name: "Args", sample: { A: 0, B: 0 } },
 *   reply: { name: "Reply", sample: { C: 0 } },
 * };
 * console.log(mul);
 * ```
 */
export interface MethodTypes {
  /** The argument's Go type. */
  readonly args?: GoTypeSpec;
  /** The reply's Go type. */
  readonly reply?: GoTypeSpec;
}

/**
 * Options of {@linkcode Reflection}.
 *
 * @example
 * ```ts
 * import type { ReflectionOptions } from "@rpcx/core/reflection";
 * const options: ReflectionOptions = {
 *   packageName: "example",
 *   services: { Arith: { Mul: { args: { name: "Args", sample: { A: 0, B: 0 } }, reply: "Reply" } } },
 * };
 * console.log(options.packageName);
 * ```
 */
export interface ReflectionOptions {
  /**
   * The Go package printed for the services (`package main`): Go prints the last element of the
   * service type's package path. Default `"main"`. The Reflection service itself is in
   * `reflection`, as Go's.
   */
  readonly packageName?: string;
  /** Method types per registered service name, then per method name. */
  readonly services?: Readonly<Record<string, Readonly<Record<string, MethodTypes>>>>;
}

/**
 * The Reflection service as a client calls it (Go's or ours), for
 * `client.typed<ReflectionService>("Reflection")`.
 *
 * @example
 * ```ts
 * import { Client } from "@rpcx/core";
 * import type { ReflectionService } from "@rpcx/core/reflection";
 * const client = new Client("tcp@127.0.0.1:8972");
 * const reflection = client.typed<ReflectionService>("Reflection");
 * console.log(await reflection.GetService("Arith", { timeout: 1000 }));
 * await client.close();
 * ```
 */
export interface ReflectionService {
  /** The Go text of the service registered as `name`; fails with `not found service <name>`. */
  GetService(name: string): string;
  /** The Go text of every service (the argument is ignored). */
  GetServices(ignored?: unknown): string;
}

interface MethodInfo {
  name: string;
  reqName: string;
  req: string;
  replyName: string;
  reply: string;
}

interface ServiceInfo {
  name: string;
  pkg: string;
  methods: MethodInfo[];
}

function typeOf(spec: GoTypeSpec | undefined): { name: string; text: string } {
  if (spec === undefined) return { name: "interface{}", text: "" };
  if (typeof spec === "string") return { name: spec, text: "" };
  if (typeof spec.name !== "string" || spec.name === "") {
    throw new TypeError("reflection: a type description needs a name");
  }
  if (spec.go !== undefined) {
    return {
      name: spec.name,
      text: spec.go === "" || spec.go.endsWith("\n") ? spec.go : `${spec.go}\n`,
    };
  }
  if ("sample" in spec) return { name: spec.name, text: goDefinition(spec.name, spec.sample) };
  return { name: spec.name, text: "" };
}

/** One service's text, as Go's `ServiceInfo.String()` writes it. */
function serviceText(si: ServiceInfo): string {
  let out = `package ${si.pkg}\n\ntype ${si.name} struct{}\n\n`;
  for (const m of si.methods) {
    out += `\n${m.req}\n${m.reply}\ntype (s *${si.name}) ${m.name}(ctx context.Context, ` +
      `arg *${m.reqName}, reply *${m.replyName}) error {\n\treturn nil\n}\n`;
  }
  return out + "\n";
}

/**
 * The reflection service and plugin (Go: `reflection.New()`, a `*Reflection` added with
 * `s.Plugins.Add(p)` and registered with `s.Register(p, "")`). As a plugin it remembers every
 * service registered with `register` (Go's reflection sees `Register`ed receivers, not
 * `RegisterFunction`s) and forgets unregistered ones; as the service `Reflection` it answers:
 *
 * - `GetService(name)`: the service as Go source text: `package main`, `type Arith struct{}`, and
 *   per method (sorted by name, as Go lists them) the argument and reply type definitions and a
 *   stub `type (s *Arith) Mul(ctx context.Context, arg *Args, reply *Reply) error {…}` (Go's
 *   text, `type` for `func` included). An unknown name fails with `not found service <name>`.
 * - `GetServices(anything)`: every service's text (by name, Reflection last) after one
 *   `package` line (Go writes the first service's package once and drops that `package` line
 *   from the others).
 *
 * TypeScript has no runtime types, so argument and reply types come from
 * {@linkcode ReflectionOptions.services} (a sample value or Go text per method); a method without
 * one reads `arg *interface{}, reply *interface{}`. The service's Go type name is its class name
 * (Go prints the type's name, not the registered one), else the registered name.
 *
 * @example
 * ```ts
 * import { Client, Server } from "@rpcx/core";
 * import { Reflection } from "@rpcx/core/reflection";
 * class Arith {
 *   Mul(a: { A: number; B: number }) {
 *     return { C: a.A * a.B };
 *   }
 * }
 * const reflection = new Reflection({
 *   services: {
 *     Arith: {
 *       Mul: { args: { name: "Args", sample: { A: 0, B: 0 } }, reply: { name: "Reply", sample: { C: 0 } } },
 *     },
 *   },
 * });
 * const server = new Server();
 * server.use(reflection); // Go: s.Plugins.Add(p)
 * await server.register(new Arith());
 * await server.register(reflection); // Go: s.Register(p, "")
 * const addr = await server.serve("tcp", "127.0.0.1:0");
 * const client = new Client(`tcp@${addr}`);
 * console.log(await client.call("Reflection", "GetService", "Arith")); // package main …
 * await client.close();
 * await server.close();
 * ```
 */
export class Reflection implements ReflectionService {
  /** The plugin's name in logs. */
  readonly name = "reflection";
  readonly #packageName: string;
  readonly #described: Readonly<Record<string, Readonly<Record<string, MethodTypes>>>>;
  readonly #services = new Map<string, ServiceInfo>();

  /** Creates the plugin and service; nothing is remembered until it is added to a server. */
  constructor(options: ReflectionOptions = {}) {
    this.#packageName = options.packageName ?? "main";
    this.#described = options.services ?? {};
    // Fail at construction on a malformed description, not at the first registration.
    for (const methods of Object.values(this.#described)) {
      for (const m of Object.values(methods)) {
        typeOf(m.args);
        typeOf(m.reply);
      }
    }
  }

  /**
   * The text of the service registered as `name` (Go: `GetService`). Throws
   * `RpcxError("not found service <name>")` for a name not registered (the caller gets that
   * text).
   */
  GetService(name: string): string {
    const si = typeof name === "string" ? this.#services.get(name) : undefined;
    if (!si) throw new RpcxError(`not found service ${String(name)}`);
    return serviceText(si);
  }

  /** The text of every registered service (Go: `GetServices`; the argument is ignored). */
  GetServices(_ignored?: unknown): string {
    let pkg = "package ";
    let body = "";
    // Go's order is its map's (random); ours: by name, the Reflection service itself last.
    const names = [...this.#services.keys()].sort();
    const own = names.filter((n) => this.#services.get(n)!.pkg === "reflection");
    for (const name of [...names.filter((n) => !own.includes(n)), ...own]) {
      const si = this.#services.get(name)!;
      if (pkg === "package ") pkg = `package ${si.pkg}\n\n`;
      body += serviceText(si).replaceAll(pkg, "");
    }
    return pkg === "package " ? body : pkg + body;
  }

  // The plugin hooks are accessors, not methods: registered as a service (Go's
  // `s.Register(p, "")`), the Reflection object then exposes GetService and GetServices only.

  /** Plugin hook: remembers a service as it is registered. */
  get afterRegister(): (name: string, service: unknown) => void {
    return (name, service) => this.#remember(name, service);
  }

  /** Plugin hook (registry side): remembers a service again once the server serves. */
  get register(): (name: string, service: unknown) => void {
    return (name, service) => this.#remember(name, service);
  }

  /** Plugin hook: forgets an unregistered service (Go: `Unregister`). */
  get unregister(): (name: string) => void {
    return (name) => void this.#services.delete(name);
  }

  /** Plugin hook: on serving, the server tells `register` every service it has now. */
  get start(): () => void {
    return () => this.#services.clear();
  }

  #remember(name: string, service: unknown): void {
    const info = service === this ? this.#own() : this.#describe(name, service);
    if (info.methods.length > 0) this.#services.set(name, info);
    else this.#services.delete(name);
  }

  #own(): ServiceInfo {
    const m = (n: string) => ({
      name: n,
      reqName: "string",
      req: "",
      replyName: "string",
      reply: "",
    });
    return { name: "Reflection", pkg: "reflection", methods: [m("GetService"), m("GetServices")] };
  }

  #describe(name: string, service: unknown): ServiceInfo {
    const methods: MethodInfo[] = [];
    const described = Object.hasOwn(this.#described, name) ? this.#described[name] : {};
    if (service !== null && typeof service === "object") {
      for (const method of [...collectMethods(service).keys()].sort()) {
        const d = Object.hasOwn(described, method) ? described[method] : {};
        const req = typeOf(d.args);
        const reply = typeOf(d.reply);
        methods.push({
          name: method,
          reqName: req.name,
          req: req.text,
          replyName: reply.name,
          reply: reply.text,
        });
      }
    }
    const ctor = (service as { constructor?: { name?: unknown } } | null)?.constructor;
    const typeName = typeof ctor?.name === "string" && ctor.name !== "" && ctor !== Object
      ? ctor.name
      : name;
    return { name: typeName, pkg: this.#packageName, methods };
  }
}
