// The services the Go peer (tests/interop/go) serves, mirrored in Deno, so the Go checklist
// (`rpcxpeer client --check all`) can run against our server.
import { type CallContext, CompressType, Server, type ServerOptions } from "@rpcx/core";
import { Arith } from "../../examples/arith.ts";

/** Request metadata key the stats plugin sets when a request frame arrived gzip-compressed. */
export const REQ_COMPRESSED = "x-req-compressed";

/** The Echo service, method for method as the Go peer has it. */
export class Echo {
  #notes = 0;
  #last = "";
  heartbeats = 0;
  /** Raw bytes echo (SerializeNone). */
  Bytes(args: Uint8Array): Uint8Array {
    return args;
  }
  /** Copies request metadata into the reply metadata; echoes Data. */
  Meta(args: { Data: string }, ctx: CallContext): { Data: string } {
    Object.assign(ctx.replyMetadata, ctx.metadata);
    return { Data: args.Data };
  }
  /** Echoes Data; tells whether the request came compressed. */
  Big(args: { Data: string }, ctx: CallContext): { Data: string } {
    const v = ctx.metadata[REQ_COMPRESSED];
    if (v) ctx.replyMetadata[REQ_COMPRESSED] = v;
    return { Data: args.Data };
  }
  /** Always fails. */
  Fail(): never {
    throw new Error("deliberate failure");
  }
  /** Records a note (called oneway). */
  Note(args: { Text: string }): { Count: number; Last: string } {
    this.#notes++;
    this.#last = args?.Text ?? "";
    return { Count: this.#notes, Last: this.#last };
  }
  /** How many notes arrived, and the last one. */
  Notes(): { Count: number; Last: string } {
    return { Count: this.#notes, Last: this.#last };
  }
  /** How many heartbeats the server answered. */
  Heartbeats(): { Count: number; Last: string } {
    return { Count: this.heartbeats, Last: "" };
  }
  /** Echoes 64-bit N and U; NInc = N + 1; fixed wide values, as the Go peer's Echo.Wide. */
  Wide(args: { N: number | bigint; U: number | bigint }) {
    return {
      N: args.N,
      U: args.U,
      NInc: BigInt(args.N) + 1n,
      Big: 2n ** 62n + 1n,
      UMax: 2n ** 64n - 1n,
      Min: -(2n ** 63n),
    };
  }
  /** Sleeps Ms (at most 10 s, cut by the call's deadline), echoes the args. */
  async Delay(
    args: { Ms: number; Tag: number },
    ctx: CallContext,
  ): Promise<{ Ms: number; Tag: number }> {
    const ms = Math.min(args.Ms, 10_000);
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(resolve, ms);
      ctx.signal.addEventListener("abort", () => {
        clearTimeout(t);
        reject(new Error("context deadline exceeded"));
      }, { once: true });
    });
    return { Ms: args.Ms, Tag: args.Tag };
  }
}

/** Which of the peer's services {@link interopServer} registers, and with what metadata. */
export interface InteropServices {
  /** Default all three: `Arith`, `Echo`, `Bench` (as `rpcxpeer server --services`). */
  services?: readonly string[];
  /** Registered metadata (URL query form, `weight=5&group=a`); default none. */
  metadata?: string;
}

/** A Deno server with Arith, Echo and Bench as the Go peer serves them. */
export async function interopServer(
  options: ServerOptions = {},
  { services = ["Arith", "Echo", "Bench"], metadata = "" }: InteropServices = {},
): Promise<Server> {
  const echo = new Echo();
  const server = new Server({
    ...options,
    plugins: [...(options.plugins ?? []), {
      name: "peer-stats",
      heartbeat: () => void echo.heartbeats++,
      postReadRequest: (req) => {
        if (!req.heartbeat && req.compressType === CompressType.Gzip) {
          req.metadata[REQ_COMPRESSED] = "gzip";
        }
      },
    }],
  });
  const impls: Record<string, object> = {
    Arith: new Arith(),
    Echo: echo,
    Bench: { Echo: (args: unknown) => args },
  };
  for (const name of services) {
    if (!impls[name]) throw new TypeError(`no service ${name} (have Arith, Echo, Bench)`);
    await server.register(impls[name], name, metadata);
  }
  return server;
}
