/**
 * The npm packages the command loads on demand (a registry's client, protobufjs): on npm they
 * are optional peer dependencies of `@rpcx/core`, so one may be missing. This edge turns the
 * runtime's module-not-found error (Node's and Bun's `ERR_MODULE_NOT_FOUND`, "Cannot find
 * package 'x'", Deno's "Could not find package") into one line naming what to install.
 *
 * @module
 */
import { CliError, ExitCode } from "./errors.ts";

/** The name of an npm package from a bare specifier (`@scope/name/sub` → `@scope/name`). */
function packageName(spec: string): string | undefined {
  if (spec.startsWith(".") || spec.startsWith("/") || /^[a-z]+:/i.test(spec)) return undefined;
  const parts = spec.split("/");
  return spec.startsWith("@")
    ? (parts.length > 1 ? parts.slice(0, 2).join("/") : undefined)
    : parts[0];
}

/**
 * The npm package whose absence `e` reports (Node, Bun and Deno's module-not-found errors), or
 * undefined when `e` is another error (a missing file of a package that is there included).
 *
 * @example
 * ```ts
 * import { missingPackage } from "@rpcx/core/cli";
 * const e = Object.assign(new Error("Cannot find package 'etcd3' imported from /app/x.js"), {
 *   code: "ERR_MODULE_NOT_FOUND",
 * });
 * console.log(missingPackage(e)); // "etcd3"
 * ```
 */
export function missingPackage(e: unknown): string | undefined {
  if (!(e instanceof Error)) return undefined;
  const code = (e as { code?: unknown }).code;
  const m = /(?:cannot|could not) (?:find|resolve) (?:package|module)\s+['"]([^'"]+)['"]/i.exec(
    e.message,
  ) ??
    /^Import ['"]([^'"]+)['"] not a dependency/i.exec(e.message);
  if (!m && code !== "ERR_MODULE_NOT_FOUND" && code !== "MODULE_NOT_FOUND") return undefined;
  return m ? packageName(m[1]) : undefined;
}

/**
 * The error the command line gives when `what` (e.g. `etcd://`, `--proto`) could not load
 * because the npm package `e` names is not installed: a usage error (exit 2), one line
 * `… needs the npm package x: npm install x` (with `packages`, what `what` needs: all of them,
 * `… needs the npm packages a and b: npm install a b`). Other errors come back unchanged.
 *
 * @example
 * ```ts
 * import { peerError } from "@rpcx/core/cli";
 * const e = new Error("Cannot find package 'etcd3' imported from /app/x.js");
 * console.log((peerError("etcd://", e) as Error).message);
 * // "etcd:// needs the npm package etcd3: npm install etcd3"
 * ```
 */
export function peerError(what: string, e: unknown, packages: readonly string[] = []): unknown {
  const name = missingPackage(e);
  if (name === undefined) return e;
  const all = packages.includes(name) ? packages : [name];
  const names = all.length === 1
    ? `package ${all[0]}`
    : `packages ${all.slice(0, -1).join(", ")} and ${all.at(-1)}`;
  return new CliError(
    `${what} needs the npm ${names}: npm install ${all.join(" ")}`,
    ExitCode.Usage,
    {
      cause: e,
    },
  );
}

/**
 * Loads an optional npm package with `load` (a literal `import("pkg")`, so bundlers and the npm
 * form keep it lazy); a missing package is {@linkcode peerError}'s `CliError` (exit 2).
 *
 * @example
 * ```ts
 * import { loadPeer } from "@rpcx/core/cli";
 * const { default: protobuf } = await loadPeer("--proto", () => import("protobufjs"));
 * const root = protobuf.parse('syntax = "proto3"; message Args { int64 A = 1; }').root;
 * console.log(root.lookupType("Args").fields.A.type); // "int64"
 * ```
 */
export async function loadPeer<T>(what: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (e) {
    throw peerError(what, e);
  }
}
