// A "black hole" endpoint on loopback: a host that drops SYNs instead of refusing them, the way
// a crashed machine, a dead VM or a firewall that DROPs behaves. A connect to it neither
// succeeds nor fails: it hangs until the kernel gives up (about two minutes).
//
// How: a real listening socket with backlog 0 whose connections are never accepted (made with
// libc through Deno's FFI: Deno.listen always accepts into a large queue and takes no backlog).
// One connection fills its accept queue; from then on Linux drops every further SYN
// (LISTENOVERFLOWS), so a client's connect stays in SYN_SENT. `close()` closes the listening
// socket: a client still waiting then gets a RST at its next SYN retransmission.

/** A listening socket that never accepts, its accept queue full. */
export interface BlackHole {
  /** `127.0.0.1:PORT`. */
  readonly endpoint: string;
  /** The port. */
  readonly port: number;
  /** Closes the filler connection and the listening socket. Safe to call twice. */
  close(): void;
}

const AF_INET = 2;
const SOCK_STREAM = 1;

/** Opens a black hole on 127.0.0.1 (Linux, glibc); throws if any step fails. */
export async function openBlackHole(): Promise<BlackHole> {
  const libc = Deno.dlopen("libc.so.6", {
    socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
    bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
    listen: { parameters: ["i32", "i32"], result: "i32" },
    getsockname: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
    close: { parameters: ["i32"], result: "i32" },
  });
  let fd = -1;
  let filler: Deno.Conn | undefined;
  const cleanup = () => {
    try {
      filler?.close();
    } catch {
      // closed
    }
    filler = undefined;
    if (fd >= 0) libc.symbols.close(fd);
    fd = -1;
  };
  try {
    fd = libc.symbols.socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) throw new Error("black hole: socket() failed");
    // struct sockaddr_in { sa_family_t (LE u16), in_port_t (BE u16), in_addr, zero[8] }
    const addr = new Uint8Array(16);
    const view = new DataView(addr.buffer);
    view.setUint16(0, AF_INET, true);
    addr.set([127, 0, 0, 1], 4);
    if (libc.symbols.bind(fd, addr, 16) !== 0) throw new Error("black hole: bind() failed");
    if (libc.symbols.listen(fd, 0) !== 0) throw new Error("black hole: listen() failed");
    const len = new Uint32Array([16]);
    if (libc.symbols.getsockname(fd, addr, new Uint8Array(len.buffer)) !== 0) {
      throw new Error("black hole: getsockname() failed");
    }
    const port = view.getUint16(2, false);
    // The one connection the queue holds.
    filler = await Deno.connect({ hostname: "127.0.0.1", port });
    // Prove it: a further connect must hang.
    const probe = new AbortController();
    const timer = setTimeout(() => probe.abort(), 300);
    const hung = await Deno.connect({ hostname: "127.0.0.1", port, signal: probe.signal }).then(
      (c) => {
        c.close();
        return false;
      },
      () => probe.signal.aborted,
    );
    clearTimeout(timer);
    if (!hung) throw new Error("black hole: a connect did not hang (accept queue not full)");
    let closed = false;
    return {
      endpoint: `127.0.0.1:${port}`,
      port,
      close() {
        if (closed) return;
        closed = true;
        cleanup();
        libc.close();
      },
    };
  } catch (e) {
    cleanup();
    libc.close();
    throw e;
  }
}
