// Go's own rpcx-examples programs (tests/interop/go-examples, built by .ci/install/55-goexamples.sh
// into .cache/bin/goex/<example>-<side>) and ours (examples/<name>/<side>.ts) as processes, for
// tests/go_examples_test.ts: each on free loopback ports given by its flags, every wait bounded,
// its output collected as text. `pair` runs one client program against one server program.
import assert from "node:assert/strict";
import { freePort, needs, REPO_ROOT, waitFor, waitForPort } from "./env.ts";

const GOEX = `${REPO_ROOT}/.cache/bin/goex`;
/** The rpcx-examples programs tests/go_examples_test.ts runs (each has a client and a server). */
export const PROGRAMS = [
  "oneclient",
  "pool",
  "sticky",
  "reflection",
  "restart",
  "graceful_restart",
  "tcpcopy",
  "handler",
  "broadcast",
  "filetransfer",
  "file_download",
  "stream",
];

/** Whether Go's example programs are built (under CI=true, missing ones fail the test). */
export function needGoExamples(): boolean {
  const missing = PROGRAMS.flatMap((p) => [`${p}-client`, `${p}-server`]).filter((b) => {
    try {
      return !Deno.statSync(`${GOEX}/${b}`).isFile;
    } catch {
      return true;
    }
  });
  return needs(
    "Go's rpcx-examples programs (.cache/bin/goex, .ci/install/55-goexamples.sh)",
    missing.length ? `missing ${missing.join(", ")}` : undefined,
  );
}

/** A process whose stdout and stderr are collected as text (together, in arrival order). */
export interface Proc {
  readonly pid: number;
  text(): string;
  /** Its stdout alone (Go's fmt.Print*, our console.log; not Go's log lines, on stderr). */
  stdout(): string;
  /** Waits (at most `ms`) until the output matches `re`; returns the match. */
  waitText(re: RegExp, ms: number, what?: string): Promise<RegExpMatchArray>;
  /** Waits (at most `ms`) until `ok(stdout)`. */
  waitStdout(ok: (stdout: string) => boolean, ms: number, what: string): Promise<void>;
  /** Whether it has exited. */
  exited(): boolean;
  /** Its exit code once exited, else undefined. */
  exitCode(): number | undefined;
  /** Its exit code once ended (killed after `ms`, then the test fails on the code). */
  done(ms: number): Promise<number>;
  /** Sends `signal` unless exited and waits for the end (SIGKILL after 5 s). Safe twice. */
  stop(signal?: Deno.Signal): Promise<void>;
}

/** `out` for an error message: a long one as its first and last 300 characters. */
const shown = (out: string) =>
  JSON.stringify(out.length > 1000 ? `${out.slice(0, 300)}…${out.slice(-300)}` : out);

function spawn(cmd: string, args: string[], cwd = REPO_ROOT): Proc {
  const child = new Deno.Command(cmd, {
    args,
    cwd,
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).spawn();
  let out = "";
  let stdout = "";
  let code: number | undefined;
  const drain = async (s: ReadableStream<Uint8Array>, isStdout: boolean) => {
    try {
      for await (const t of s.pipeThrough(new TextDecoderStream())) {
        out += t;
        if (isStdout) stdout += t;
      }
    } catch { /* closed */ }
  };
  const drained = Promise.all([drain(child.stdout, true), drain(child.stderr, false)]);
  // A process it started (a graceful restart's successor) shares its pipes: once it exited,
  // what is left is read for at most 1 s.
  const status = child.status.then(async (s) => {
    let t: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([drained, new Promise((r) => t = setTimeout(r, 1000))]);
    clearTimeout(t);
    code = s.code;
    return s.code;
  });
  const kill = (signal: Deno.Signal) => {
    try {
      child.kill(signal);
    } catch { /* gone */ }
  };
  const stop = async (signal: Deno.Signal = "SIGKILL") => {
    if (code === undefined) kill(signal);
    const t = setTimeout(() => kill("SIGKILL"), 5000);
    await status;
    clearTimeout(t);
  };
  const wait = (what: string, ok: () => boolean, ms: number) =>
    waitFor(what, ok, ms, 20).catch((e) => {
      throw new Error(`${(e as Error).message}; output: ${shown(out)}`);
    });
  return {
    pid: child.pid,
    text: () => out,
    stdout: () => stdout,
    exited: () => code !== undefined,
    exitCode: () => code,
    async waitText(re, ms, what) {
      await wait(what ?? `output ${re}`, () => re.test(out), ms);
      return out.match(re)!;
    },
    waitStdout: (ok, ms, what) => wait(what, () => ok(stdout), ms),
    async done(ms) {
      const t = setTimeout(() => kill("SIGKILL"), ms);
      const c = await status;
      clearTimeout(t);
      return c;
    },
    stop,
  };
}

/** Go's example program `<example>-<side>` with `flags`, in `cwd` (default: the repository). */
export function go(
  example: string,
  side: "client" | "server",
  flags: string[],
  cwd?: string,
): Proc {
  return spawn(`${GOEX}/${example}-${side}`, flags, cwd);
}

/** Ours: `deno run -A examples/<example>/<side>.ts` with `flags`. */
export function ours(example: string, side: "client" | "server", flags: string[]): Proc {
  return spawn(Deno.execPath(), ["run", "-A", `examples/${example}/${side}.ts`, ...flags]);
}

/** Our server with `flags`, ready once it printed its listening line. */
export async function ourServer(example: string, flags: string[]): Promise<Proc> {
  const p = ours(example, "server", flags);
  try {
    await p.waitText(/listening on \S+/, 30_000, `our ${example} server's listening line`);
  } catch (e) {
    await p.stop();
    throw e;
  }
  return p;
}

/**
 * Go's server with `flags` (in `cwd`), ready once each of `ports` accepts (a Go example server
 * prints nothing).
 */
export async function goServer(
  example: string,
  flags: string[],
  ports: number[],
  cwd?: string,
): Promise<Proc> {
  const p = go(example, "server", flags, cwd);
  try {
    for (const port of ports) await waitForPort(port);
  } catch (e) {
    await p.stop();
    throw new Error(`${(e as Error).message}; Go's ${example} server printed ${p.text()}`);
  }
  return p;
}

/** How many lines of `text` match `re`. */
export const count = (text: string, re: RegExp): number =>
  text.match(new RegExp(re, "gm"))?.length ?? 0;

/**
 * The address flags of a program (`dash`: Go's "-", ours "--"): `addr A` with one server,
 * `addr1 A1 addr2 A2` with two, where a client's are `tcp@A1` and `tcp@A2`.
 */
function addrFlags(dash: string, addrs: string[], client: boolean): string[] {
  if (addrs.length === 1) return [`${dash}addr`, addrs[0]];
  return addrs.flatMap((a, i) => [`${dash}addr${i + 1}`, client ? `tcp@${a}` : a]);
}

/** How `pair` runs a client program against a server program. */
export interface PairOptions {
  /** The server's example (default: the client's). */
  server?: string;
  /** How many servers the example serves (on fresh ports; default 1). */
  servers?: number;
  /** The server's flags after its address flags. */
  serverFlags?: string[];
  /** The client's flags after its address flags. */
  clientFlags?: string[];
  /** The working directory of the Go program of the pair (default: the repository). */
  goCwd?: string;
  /** How long the client may run (default 30 000 ms). */
  ms?: number;
  /** Any exit code of the client (`check` judges it); by default it must be 0. */
  anyExit?: boolean;
  /**
   * For a client that calls until stopped: instead of its end, waits (at most 15 s) for its output
   * to match `output`, checks that it still runs, and stops it.
   */
  until?: { output: RegExp; what: string };
}

/**
 * Runs the `client` side's (Go's or ours) `example` client against the `server` side's server,
 * on fresh loopback ports, then `check(client, server, addrs)` (the servers' host:port); both are
 * stopped afterwards.
 */
export async function pair(
  client: "go" | "ours",
  server: "go" | "ours",
  example: string,
  o: PairOptions,
  check: (client: Proc, server: Proc, addrs: string[]) => void | Promise<void>,
): Promise<void> {
  const ports = Array.from({ length: o.servers ?? 1 }, () => freePort());
  const addrs = ports.map((p) => `127.0.0.1:${p}`);
  const name = o.server ?? example;
  const s = server === "go"
    ? await goServer(
      name,
      [...addrFlags("-", addrs, false), ...o.serverFlags ?? []],
      ports,
      o.goCwd,
    )
    : await ourServer(name, [...addrFlags("--", addrs, false), ...o.serverFlags ?? []]);
  let c: Proc | undefined;
  try {
    const flags = [...addrFlags(client === "go" ? "-" : "--", addrs, true), ...o.clientFlags ?? []];
    c = client === "go" ? go(example, "client", flags, o.goCwd) : ours(example, "client", flags);
    if (o.until) {
      await c.waitText(o.until.output, 15_000, o.until.what);
      assert.ok(!c.exited(), c.text());
    } else {
      const code = await c.done(o.ms ?? 30_000);
      if (!o.anyExit) assert.equal(code, 0, c.text());
    }
    await check(c, s, addrs);
  } finally {
    await c?.stop();
    await s.stop();
  }
}
