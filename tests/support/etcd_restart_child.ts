// Child of tests/http2_goaway_test.ts: imports @rpcx/core/etcd (it guards node:http2's client
// sessions when it loads, issue 26), then keeps an EtcdDiscovery (a watch stream) and a plain
// `etcd3` client (idle between writes, as a test's own client is) on the etcd given. On each line
// "put N" on stdin it writes a key with the plain client (retrying while etcd restarts, up to
// 20 s), runs the garbage collector and prints "ok N"; on "exit" it closes both and exits 0,
// unless the runtime crashed first. Run with --v8-flags=--expose-gc.
import { EtcdDiscovery } from "@rpcx/core/etcd";
import { Etcd3 } from "etcd3";

const [endpoint, base] = Deno.args;
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("run with --v8-flags=--expose-gc");
const discovery = new EtcdDiscovery(base, "Arith", [endpoint]);
const plain = new Etcd3({ hosts: endpoint });

async function put(n: string): Promise<void> {
  const until = Date.now() + 20_000;
  for (;;) {
    try {
      await plain.put(`${base}/Arith/tcp@127.0.0.1:${n}`).value("weight=1");
      return;
    } catch (e) {
      if (Date.now() > until) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

let buffered = "";
for await (const text of Deno.stdin.readable.pipeThrough(new TextDecoderStream())) {
  buffered += text;
  let nl: number;
  while ((nl = buffered.indexOf("\n")) >= 0) {
    const [cmd, n] = buffered.slice(0, nl).split(" ");
    buffered = buffered.slice(nl + 1);
    if (cmd === "exit") {
      plain.close();
      await discovery.close();
      Deno.exit(0);
    }
    await put(n);
    gc();
    console.log(`ok ${n}`);
  }
}
