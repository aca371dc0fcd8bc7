/**
 * The rpcx services among Go declarations: receiver types with rpcx-shaped methods (exported,
 * `(ctx context.Context, args T, reply *R) error`), as Go rpcx registers them.
 *
 * @module
 */
import type { GoDecls, GoMethodDecl, GoTypeExpr } from "./_go_ast.ts";

/** A service found in the declarations: receiver type and its rpcx methods. */
export interface Service {
  pkg: string;
  name: string;
  methods: { name: string; args: GoTypeExpr; reply: GoTypeExpr }[];
}

function isRpcxMethod(m: GoMethodDecl): boolean {
  if (!/^\p{Lu}/u.test(m.name) || m.params.length !== 3 || m.results.length !== 1) return false;
  const [ctx, , reply] = m.params.map((p) => p.type);
  const r = m.results[0];
  return ctx.kind === "named" && ctx.pkg === "context" && ctx.name === "Context" &&
    reply.kind === "ptr" && r.kind === "named" && !r.pkg && r.name === "error";
}

/** The rpcx services among `decls`: receivers with rpcx-shaped methods, in order of appearance. */
export function goServices(decls: GoDecls): Service[] {
  const services = new Map<string, Service>();
  for (const m of decls.methods) {
    if (!isRpcxMethod(m)) continue;
    const key = `${m.pkg}.${m.receiver}`;
    let s = services.get(key);
    if (!s) services.set(key, s = { pkg: m.pkg, name: m.receiver, methods: [] });
    if (s.methods.some((x) => x.name === m.name)) continue;
    s.methods.push({ name: m.name, args: m.params[1].type, reply: m.params[2].type });
  }
  return [...services.values()];
}
