// The floor under bench/conn_scale.ts: what Deno itself holds per accepted TCP connection with one
// read pending, with no rpcx code at all. Listens as the rpcx servers do (backlog 4096) and on
// each connection reads into a 64-byte buffer (the rpcx server's first read), keeping one read
// pending for ever. A read whose first byte is
// "P" is answered with "P", so the benchmark can tell when every earlier connection was accepted.
//   deno run -A bench/_bare_server.ts --addr 127.0.0.1:0   (prints "LISTENING host:port")
import { flag } from "../examples/arith.ts";

const [hostname, port] = flag(Deno.args, "addr", "127.0.0.1:0").split(":");
const listener = Deno.listen({ hostname, port: Number(port), tcpBacklog: 4096 });
console.log(`LISTENING ${hostname}:${(listener.addr as Deno.NetAddr).port}`);

const PONG = new Uint8Array([0x50]);

function serve(conn: Deno.TcpConn): void {
  const close = () => {
    try {
      conn.close();
    } catch {
      // closed
    }
  };
  const buf = new Uint8Array(64);
  let off = 0;
  const next = (): void => {
    if (off === buf.byteLength) off = 0;
    conn.read(buf.subarray(off)).then((n) => {
      if (n === null) return close();
      if (buf[off] === 0x50) conn.write(PONG).catch(() => {});
      off += n;
      next();
    }, close);
  };
  next();
}

for await (const conn of listener) serve(conn);
