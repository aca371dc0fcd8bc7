/**
 * The Arith service of the rpcx examples: `Mul` and `Add` take `{A, B}` and reply `{C}`.
 * Replies go back in whatever serializer the request used, so a Go rpcx client calls it as is.
 *
 * @module
 */
import type { CallContext } from "../mod.ts";

/** Arguments of Arith methods (Go: `struct{ A, B int }`). */
export interface Args {
  /** First operand. */
  A: number;
  /** Second operand. */
  B: number;
}

/** Reply of Arith methods (Go: `struct{ C int }`). */
export interface Reply {
  /** Result. */
  C: number;
}

/** The example service. */
export class Arith {
  /** C = A * B. */
  Mul(args: Args, _ctx: CallContext): Reply {
    return { C: args.A * args.B };
  }

  /** C = A + B. */
  Add(args: Args, _ctx: CallContext): Reply {
    return { C: args.A + args.B };
  }
}

/** Reads `--name value` or `--name=value` from `args`; `fallback` when absent. */
export function flag(args: string[], name: string, fallback: string): string {
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === `--${name}` && i + 1 < args.length) return args[i + 1];
    if (a.startsWith(`--${name}=`)) return a.slice(name.length + 3);
  }
  return fallback;
}
