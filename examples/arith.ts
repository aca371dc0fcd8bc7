/**
 * The Arith service of the rpcx examples: `Mul` and `Add` take `{A, B}` and reply `{C}`.
 * Replies go back in whatever serializer the request used, so a Go rpcx client calls it as is.
 *
 * @module
 */
import type { CallContext, XClient } from "@rpcx/core";

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

/** An Arith of `Mul` only that prints `C= <C>` for each call (the restart and tcpcopy servers). */
export class PrintingArith {
  /** C = A * B, printed. */
  Mul(args: Args, _ctx: CallContext): Reply {
    const C = args.A * args.B;
    console.log("C=", C);
    return { C };
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

/**
 * What every example client does, as the Go examples do: calls `Arith.Mul {A:10, B:20}`
 * `count` times (`intervalMs` apart), printing `10 * 20 = 200`; on failure prints the error
 * and sets a non-zero exit code. Closes `xclient` at the end.
 */
export async function callMul(
  xclient: XClient,
  options: { count?: number; intervalMs?: number; timeout?: number } = {},
): Promise<void> {
  const args: Args = { A: 10, B: 20 };
  try {
    for (let i = 0; i < (options.count ?? 1); i++) {
      if (i > 0 && options.intervalMs) {
        await new Promise((r) => setTimeout(r, options.intervalMs));
      }
      const reply = await xclient.call<Reply>("Mul", args, { timeout: options.timeout });
      console.log(`${args.A} * ${args.B} = ${reply.C}`);
    }
  } catch (e) {
    console.error(`failed to call: ${(e as Error).message}`);
    Deno.exitCode = 1;
  } finally {
    await xclient.close();
  }
}
