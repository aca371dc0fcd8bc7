// rpcx-examples broadcast/server: two servers of Arith, --addr1 (C = A*B) and --addr2
// (C = A*B*100), for a client's broadcast (every server called).
//   deno run -A examples/broadcast/server.ts --addr1 localhost:8972 --addr2 localhost:9981
import { Server } from "@rpcx/core";
import { type Args, flag } from "../arith.ts";

async function serve(addr: string, k: number): Promise<[Server, string]> {
  const s = new Server();
  await s.register({ Mul: (a: Args) => ({ C: a.A * a.B * k }) }, "Arith");
  return [s, await s.serve("tcp", addr)];
}
const [one, bound1] = await serve(flag(Deno.args, "addr1", "localhost:8972"), 1);
const [two, bound2] = await serve(flag(Deno.args, "addr2", "localhost:9981"), 100);
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(sig, async () => {
    await Promise.all([one.shutdown(), two.shutdown()]);
    Deno.exit(0);
  });
}
console.log(`listening on tcp@${bound1} and tcp@${bound2}`);
