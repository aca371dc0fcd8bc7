// Shared helpers for tests that need real external parts (registry servers, the Go peer).

/** True under CI (`CI=true`): a missing external part is a failure there, never a skip. */
export const IN_CI: boolean = Deno.env.get("CI") === "true";

/**
 * Decides whether a test that needs `what` can run. Returns true to run. When `missing` is a
 * reason, under CI it throws (so the test fails); elsewhere it prints a loud SKIP line and
 * returns false.
 */
export function needs(what: string, missing: string | undefined): boolean {
  if (missing === undefined) return true;
  const msg = `${what} is not available: ${missing}`;
  if (IN_CI) throw new Error(`CI=true and ${msg}`);
  console.warn(`\n!!! SKIP: ${msg} (install it with .ci/run; under CI=true this fails)\n`);
  return false;
}

/** Finds the first existing executable among `paths` (absolute) or on PATH (bare names). */
export function findExecutable(...names: string[]): string | undefined {
  const dirs = (Deno.env.get("PATH") ?? "").split(":");
  for (const n of names) {
    const candidates = n.includes("/") ? [n] : dirs.map((d) => `${d}/${n}`);
    for (const c of candidates) {
      try {
        const st = Deno.statSync(c);
        if (st.isFile && (st.mode ?? 0o111) & 0o111) return c;
      } catch {
        // keep looking
      }
    }
  }
  return undefined;
}

/** Ports already handed out by this process (never handed out twice). */
const handedOut = new Set<number>();

/**
 * A free TCP port on 127.0.0.1, for a server the test starts later or for a key where nothing
 * listens. Chosen below the kernel's ephemeral range (32768–60999 by default): a port the OS
 * picks for another process's `port: 0` listener or outgoing connection never lands there, so
 * the port stays free between this check and its use (the race of asking the OS for port 0).
 */
export function freePort(): number {
  for (let i = 0; i < 500; i++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (handedOut.has(port)) continue;
    try {
      Deno.listen({ hostname: "127.0.0.1", port }).close();
    } catch (e) {
      if (e instanceof Deno.errors.AddrInUse) continue;
      throw e;
    }
    handedOut.add(port);
    return port;
  }
  throw new Error("freePort: no free port found in 20000-31999");
}

/** Resolves after `ms`. */
export function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Sleeps `ms`, or less when `signal` aborts (so a closed server never leaves timers behind). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}

/**
 * `p`, or a rejection after `ms` (so a regression fails the test instead of hanging it). `what`
 * names the wait in the error; a function is asked only then (to report progress so far).
 */
export async function bounded<T>(
  p: Promise<T>,
  ms: number,
  what: string | (() => string),
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          const name = typeof what === "function" ? what() : what;
          reject(new Error(`${name}: still pending after ${ms} ms`));
        }, ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Polls `cond` every `everyMs` until true or `timeoutMs` passes; throws with `what` on timeout.
 * The bound holds for `cond` itself too: a check still pending when the time is up (a read
 * that never ends) fails the wait then; it is not called again while one is pending.
 */
export async function waitFor(
  what: string,
  cond: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
  everyMs = 50,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < end) {
    const check = Promise.resolve().then(cond);
    let ok: boolean;
    try {
      ok = await bounded(check, Math.max(1, end - Date.now()), "its check");
    } catch (e) {
      if (e instanceof Error && e.message.startsWith("its check: still pending")) {
        check.catch(() => {});
        throw new Error(
          `timed out after ${timeoutMs} ms waiting for ${what}: its check did not end`,
        );
      }
      last = e;
      ok = false;
    }
    if (ok) return;
    await delay(Math.min(everyMs, Math.max(0, end - Date.now())));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${last}` : ""}`);
}

/** Waits until something accepts TCP connections on 127.0.0.1:port. */
export async function waitForPort(port: number, timeoutMs = 20_000): Promise<void> {
  await waitFor(
    `127.0.0.1:${port} to accept connections`,
    async () => {
      const c = await Deno.connect({ hostname: "127.0.0.1", port });
      c.close();
      return true;
    },
    timeoutMs,
    100,
  );
}

/** The repository root (absolute path). */
export const REPO_ROOT: string = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");

/**
 * Removes `path` (recursively) when this test process ends, whichever tests ran (a `--filter`
 * run included): for files that several tests of one file share, such as test certificates.
 */
export function removeAtExit(path: string): void {
  globalThis.addEventListener("unload", () => {
    try {
      Deno.removeSync(path, { recursive: true });
    } catch {
      // already gone
    }
  });
}
