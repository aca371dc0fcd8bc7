// Running a test file again inside a private network namespace (tests/support/run_in_netns.sh:
// `unshare -n` + loopback multicast), for mDNS tests that must not touch a real network.
import assert from "node:assert/strict";
import { runBounded } from "./child.ts";
import { findExecutable, IN_CI, needs, REPO_ROOT } from "./env.ts";

/** True inside the namespace (run_in_netns.sh sets RPCX_IN_NETNS=1). */
export const IN_NETNS: boolean = Deno.env.get("RPCX_IN_NETNS") === "1";

/** Why a private network namespace cannot be made here, or undefined when it can. */
export async function netnsUnavailable(): Promise<string | undefined> {
  for (const tool of ["unshare", "ip", "bash"]) {
    if (!findExecutable(tool, `/usr/bin/${tool}`, `/usr/sbin/${tool}`, `/sbin/${tool}`)) {
      return `${tool} is not installed`;
    }
  }
  try {
    const out = await runBounded("unshare", { args: ["-n", "true"], timeoutMs: 10_000 });
    if (out.code !== 0) {
      return `unshare -n is not permitted: ${new TextDecoder().decode(out.stderr).trim()}`;
    }
  } catch (e) {
    return `unshare failed: ${e}`;
  }
  return undefined;
}

/**
 * Runs `deno test` of `file` (relative to the repository) inside a namespace; prints its output
 * prefixed `[netns]` and asserts it passed with 0 failed, at least `minPassed` tests passed (a
 * "0 passed" run is no pass) and, under CI, nothing was skipped. `env` is added to its environment.
 */
export async function testFileInNetns(
  file: string,
  minPassed: number,
  timeoutMs = 240_000,
  env: Record<string, string> = {},
): Promise<void> {
  const out = await runBounded("bash", {
    args: [
      `${REPO_ROOT}/tests/support/run_in_netns.sh`,
      Deno.execPath(),
      "test",
      "-A",
      "--no-check=remote",
      file,
    ],
    cwd: REPO_ROOT,
    env: { NO_COLOR: "1", ...env },
    timeoutMs,
  });
  const dec = new TextDecoder();
  const text = dec.decode(out.stdout) + dec.decode(out.stderr);
  console.log(text.trimEnd().split("\n").map((l) => `  [netns] ${l}`).join("\n"));
  assert.equal(out.code, 0, `${file} failed inside the namespace (output above)`);
  const summary = /ok \| (\d+) passed .*\| 0 failed/.exec(text);
  assert.ok(summary, "the inner run reported its tests");
  assert.ok(Number(summary[1]) >= minPassed, `only ${summary[1]} inner tests passed`);
  if (IN_CI) assert.doesNotMatch(text, /SKIP:/, "nothing is skipped under CI");
}

/** What {@link testInNetns} does before it runs the file again inside a namespace. */
export interface InNetnsOptions {
  /**
   * Runs outside the namespace first (install, build, check a tool): `false` skips the test
   * (having said why through `needs`), an object is added to the inner run's environment.
   */
  prepare?():
    | Promise<Record<string, string> | false | void>
    | Record<string, string>
    | false
    | void;
  /** How long the inner run may take, in ms (default 240 000). */
  timeoutMs?: number;
}

/**
 * The outer half of a file whose tests must run inside a private network namespace: registers
 * the test `name`, which (where a namespace can be made; under CI it must) runs `file` again
 * through {@link testFileInNetns} and asserts at least `minPassed` inner tests passed. Call it
 * when not {@link IN_NETNS}; inside, the file registers its real tests.
 */
export function testInNetns(
  name: string,
  file: string,
  minPassed: number,
  options: InNetnsOptions = {},
): void {
  Deno.test(name, async () => {
    if (!needs("a private network namespace (root, unshare -n)", await netnsUnavailable())) return;
    const env = await options.prepare?.();
    if (env === false) return;
    await testFileInNetns(file, minPassed, options.timeoutMs, env ?? {});
  });
}

/**
 * Runs `fn` with a veth pair in the namespace, `rpcxmdns0` holding 10.253.0.1/24: Go's zeroconf
 * keeps only services with an address, and an mDNS server announces the host's non-loopback
 * addresses. Skipped (under CI, failed) where a veth cannot be made.
 */
export async function withVeth(fn: () => Promise<void>): Promise<void> {
  const ip = (...args: string[]) => runBounded("ip", { args, timeoutMs: 10_000 });
  const veth = await ip("link", "add", "rpcxmdns0", "type", "veth", "peer", "name", "rpcxmdns1");
  const vethProblem = veth.code === 0 ? undefined : new TextDecoder().decode(veth.stderr).trim();
  if (!needs("a veth interface in the namespace", vethProblem)) return;
  try {
    await ip("addr", "add", "10.253.0.1/24", "dev", "rpcxmdns0");
    await ip("link", "set", "rpcxmdns0", "up");
    await ip("link", "set", "rpcxmdns1", "up");
    await fn();
  } finally {
    await ip("link", "del", "rpcxmdns0");
  }
}
