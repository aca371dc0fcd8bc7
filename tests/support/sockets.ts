// This process's TCP connections, read from Linux's /proc (for tests that check a client leaves
// no connection behind once closed).

/** Why this process's connections cannot be listed here, or undefined when they can. */
export function procSocketsMissing(): string | undefined {
  try {
    Deno.statSync("/proc/self/net/tcp");
    Deno.statSync("/proc/self/fd");
    return undefined;
  } catch {
    return "no /proc/self/net/tcp (not Linux)";
  }
}

/** How many established TCP connections this process has open to `port` (any address). */
export function connectionsTo(port: number): number {
  const mine = new Set<string>();
  for (const fd of Deno.readDirSync("/proc/self/fd")) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(Deno.readLinkSync(`/proc/self/fd/${fd.name}`));
      if (m) mine.add(m[1]);
    } catch {
      // closed meanwhile
    }
  }
  let n = 0;
  for (const table of ["/proc/self/net/tcp", "/proc/self/net/tcp6"]) {
    let text = "";
    try {
      text = Deno.readTextFileSync(table);
    } catch {
      continue; // no IPv6
    }
    for (const line of text.split("\n").slice(1)) {
      // sl local_address rem_address st ... inode (column 10)
      const col = line.trim().split(/\s+/);
      if (col.length < 10) continue;
      const remotePort = parseInt(col[2].split(":")[1], 16);
      if (remotePort === port && col[3] === "01" && mine.has(col[9])) n++;
    }
  }
  return n;
}
