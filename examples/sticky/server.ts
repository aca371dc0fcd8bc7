// rpcx-examples sticky/server: Arith on --addr1 (C = A*B) and on --addr2 (C = A*B*100). The
// first server shuts down after 5 s and serves again on the same address 2 s later (prints
// "restarted"), so a sticky client that chose it moves once and stays.
//   deno run -A examples/sticky/server.ts --addr1 localhost:8972 --addr2 localhost:8973
import { Server } from "@rpcx/core";
import { type Args, flag } from "../arith.ts";

const addr1 = flag(Deno.args, "addr1", "localhost:8972");
const addr2 = flag(Deno.args, "addr2", "localhost:8973");
const times = (k: number) => ({ Mul: (a: Args) => ({ C: a.A * a.B * k }) });

async function first(): Promise<Server> {
  const s = new Server();
  await s.register(times(1), "Arith");
  return s;
}
let one = await first();
const bound1 = await one.serve("tcp", addr1);
const two = new Server();
await two.register(times(100), "Arith");
const bound2 = await two.serve("tcp", addr2);
console.log(`listening on tcp@${bound1} and tcp@${bound2}`);
setTimeout(async () => {
  await one.shutdown({ timeout: 1000 });
  setTimeout(async () => {
    one = await first();
    await one.serve("tcp", bound1);
    console.log("restarted");
  }, 2000);
}, 5000);
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(sig, async () => {
    await Promise.all([one.close(), two.close()]);
    Deno.exit(0);
  });
}
