/**
 * Typed clients without code generation: a proxy whose methods mirror a service class's
 * methods, so the compiler checks method names, argument and reply types.
 *
 * @module
 */
import type { CallOptions } from "./options.ts";

/**
 * The names of `S`'s callable methods as the server registers them: string keys holding a
 * function, except `constructor` and names starting with `_`.
 *
 * @example
 * ```ts
 * import type { MethodNames } from "@rpcx/core/extend";
 * class Arith {
 *   Mul(args: { A: number; B: number }) {
 *     return { C: args.A * args.B };
 *   }
 *   _helper() {}
 * }
 * const name: MethodNames<Arith> = "Mul"; // "_helper" would not compile
 * console.log(name);
 * ```
 */
export type MethodNames<S> = {
  [K in keyof S]: K extends `_${string}` | "constructor" ? never
    : K extends string ? S[K] extends (...args: never[]) => unknown ? K : never
    : never;
}[keyof S];

/**
 * The client-side signature of a service method `M` (`(args, ctx) => reply | Promise<reply>`):
 * `(args, options?) => Promise<reply>`. A method declared without parameters takes no `args`
 * (pass `undefined` when you need `options`); one whose `args` is optional keeps it optional.
 *
 * @example
 * ```ts
 * import type { TypedMethod } from "@rpcx/core/extend";
 * type Mul = TypedMethod<(args: { A: number; B: number }) => { C: number }>;
 * const mul: Mul = (args) => Promise.resolve({ C: args.A * args.B });
 * console.log(await mul({ A: 2, B: 3 })); // { C: 6 }
 * ```
 */
export type TypedMethod<M> = M extends (...args: infer P) => infer R
  ? P extends [] ? (args?: undefined, options?: CallOptions) => Promise<Awaited<R>>
  : [] extends P ? (args?: P[0], options?: CallOptions) => Promise<Awaited<R>>
  : (args: P[0], options?: CallOptions) => Promise<Awaited<R>>
  : never;

/**
 * A typed view of service `S`: one method per method of `S`, each taking the same `args`
 * plus optional {@linkcode CallOptions} (timeout in ms, `signal`, `metadata`,
 * `replyMetadata`, serializer) and resolving with the reply. Made by `Client.typed` and
 * `XClient.typed`; errors are those of `call` ({@linkcode ServiceError}, timeouts, …).
 * Go rpcx has no equivalent (its clients call by string name with untyped args).
 *
 * @example
 * ```ts
 * import { Client, Server, type TypedClient } from "@rpcx/core";
 * class Arith {
 *   Mul(args: { A: number; B: number }) {
 *     return { C: args.A * args.B };
 *   }
 * }
 * const server = new Server();
 * await server.register(new Arith());
 * const addr = await server.serve("tcp", "127.0.0.1:0");
 * const client = new Client(`tcp@${addr}`);
 * const arith: TypedClient<Arith> = client.typed<Arith>("Arith");
 * const { C } = await arith.Mul({ A: 10, B: 20 }, { timeout: 1000 });
 * console.log(C); // 200
 * await client.close();
 * await server.close();
 * ```
 */
export type TypedClient<S> = { readonly [K in MethodNames<S>]: TypedMethod<S[K]> };

/** What a typed proxy calls: `call(method, args, options)`. */
export type TypedCaller = (
  method: string,
  args: unknown,
  options: CallOptions | undefined,
) => Promise<unknown>;

/**
 * A proxy turning `proxy.Method(args, options)` into `call("Method", args, options)`. Only
 * string property names become methods; `then` stays undefined so the proxy is not mistaken
 * for a promise when returned from an async function.
 */
export function typedProxy<S>(call: TypedCaller): TypedClient<S> {
  const methods = new Map<string, (args?: unknown, options?: CallOptions) => Promise<unknown>>();
  return new Proxy(Object.create(null), {
    get(_target, prop) {
      if (typeof prop !== "string" || prop === "then") return undefined;
      let fn = methods.get(prop);
      if (!fn) {
        fn = (args?: unknown, options?: CallOptions) => call(prop, args, options);
        methods.set(prop, fn);
      }
      return fn;
    },
  }) as TypedClient<S>;
}
