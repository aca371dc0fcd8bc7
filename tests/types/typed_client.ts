// Type tests of typed clients: `deno check` (part of `deno task check`, and run by
// tests/typed_test.ts) passes only if every line under `@ts-expect-error` fails to compile
// and every other line compiles. Never executed.
import type { CallContext, Client, TypedClient, XClient } from "@rpcx/core";

export class Arith {
  Mul(args: { A: number; B: number }): { C: number } {
    return { C: args.A * args.B };
  }
  async Add(args: { A: number; B: number }, _ctx: CallContext): Promise<{ C: number }> {
    return await Promise.resolve({ C: args.A + args.B });
  }
  Ping(): string {
    return "pong";
  }
  Maybe(args?: { N: number }): number {
    return args?.N ?? 0;
  }
  _internal(): void {}
  count = 0;
}

export async function typedXClient(x: XClient, signal: AbortSignal): Promise<void> {
  const arith = x.typed<Arith>();
  const { C } = await arith.Mul({ A: 10, B: 20 });
  const c: number = C;
  const sum: { C: number } = await arith.Add({ A: 1, B: 2 }, {
    timeout: 500,
    signal,
    metadata: { k: "v" },
    replyMetadata: {},
  });
  const pong: string = await arith.Ping();
  const pong2: string = await arith.Ping(undefined, { timeout: 100 });
  const n: number = await arith.Maybe();
  const n2: number = await arith.Maybe({ N: 1 });
  console.log(c, sum, pong, pong2, n, n2);

  // @ts-expect-error: no method Div on Arith
  await arith.Div({ A: 1, B: 2 });
  // @ts-expect-error: B missing
  await arith.Mul({ A: 1 });
  // @ts-expect-error: A must be a number
  await arith.Mul({ A: "1", B: 2 });
  // @ts-expect-error: args required
  await arith.Mul();
  // @ts-expect-error: the reply has no D
  const { D } = await arith.Mul({ A: 1, B: 2 });
  // @ts-expect-error: the reply is { C: number }, not a string
  const s: string = await arith.Add({ A: 1, B: 2 });
  // @ts-expect-error: timeout is in ms (a number)
  await arith.Mul({ A: 1, B: 2 }, { timeout: "1s" });
  // @ts-expect-error: unknown call option
  await arith.Mul({ A: 1, B: 2 }, { deadline: 5 });
  // @ts-expect-error: Ping takes no args
  await arith.Ping({ A: 1 });
  // @ts-expect-error: names starting with _ are not served
  await arith._internal();
  // @ts-expect-error: fields are not methods
  await arith.count();
  console.log(D, s);
}

export async function typedClient(client: Client): Promise<void> {
  const arith: TypedClient<Arith> = client.typed<Arith>("Arith");
  const { C } = await arith.Mul({ A: 10, B: 20 }, { timeout: 1000 });
  console.log(C);
  // @ts-expect-error: the service path is required for a Client
  client.typed<Arith>();
  // @ts-expect-error: no method Sub on Arith
  await arith.Sub({ A: 1, B: 2 });
  // @ts-expect-error: B must be a number
  await arith.Add({ A: 1, B: null });
  // @ts-expect-error: a typed client is read-only
  arith.Mul = () => Promise.resolve({ C: 0 });
}
