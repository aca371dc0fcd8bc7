/**
 * `rpcx bench Service.Method args`: calls per second with a progress bar.
 *
 * @module
 */
import type { Command } from "commander";
import cliProgress from "cli-progress";
import { XClient } from "../../client/xclient.ts";
import { runtime } from "../../runtime/mod.ts";
import {
  argsOf,
  callError,
  callErrorOf,
  type CallFlags,
  callOptions,
  callSetup,
  intFlag,
  outageOf,
  registryOption,
  splitTarget,
  toJson,
  withRegistry,
} from "../common.ts";
import { CliError, ExitCode } from "../errors.ts";

/** What `bench` measured (latencies of successful calls, µs). */
export interface BenchResult {
  calls: number;
  errors: number;
  seconds: number;
  calls_per_sec: number;
  p50_us: number;
  p99_us: number;
  concurrency: number;
  timed_out: boolean;
  first_error?: string;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] * 1000);
}

/** Adds `bench` to `program`. */
export function benchCommand(program: Command): void {
  callOptions(registryOption(
    program.command("bench")
      .description(
        "call Service.Method --total times from --concurrency workers; prints calls/s and " +
          "latency percentiles (progress bar on a terminal)",
      )
      .argument("<Service.Method>", "what to call, e.g. Arith.Mul")
      .argument("[args]", "JSON args (default {})")
      .option("-n, --total <n>", "calls to make", "10000")
      .option("-c, --concurrency <n>", "calls in flight", "10")
      .option("--max-seconds <s>", "stop after this many seconds", "60")
      .option("--json", "print the result as one JSON object")
      .option("--no-progress", "no progress bar"),
  )).action(async (
    target: string,
    text: string | undefined,
    f: CallFlags & {
      registry: string;
      total: string;
      concurrency: string;
      maxSeconds: string;
      json?: boolean;
      progress: boolean;
    },
  ) => {
    const { service, method } = splitTarget(target);
    const setup = await callSetup(f);
    const args = argsOf(text, f.serializer);
    const total = intFlag("total", f.total);
    const concurrency = Math.min(intFlag("concurrency", f.concurrency), total);
    const deadline = performance.now() + intFlag("max-seconds", f.maxSeconds) * 1000;
    const result = await withRegistry(f, async (r) => {
      const discovery = r.discovery(service);
      const outage = outageOf(discovery);
      const x = new XClient(service, setup.failMode, setup.selectMode, discovery, setup.options);
      // cli-progress draws on the process's stderr (its default stream).
      const bar = f.progress && !f.json && runtime().process.isTerminal(2)
        ? new cliProgress.SingleBar({
          format: "{bar} {percentage}% | {value}/{total} calls | {rate} calls/s | {errors} errors",
        }, cliProgress.Presets.shades_classic)
        : undefined;
      const latencies = new Float64Array(total);
      let ok = 0;
      let started = 0;
      let errors = 0;
      let firstError: unknown;
      const callOpts = { timeout: setup.timeout, metadata: setup.metadata };
      try {
        // The first call waits for the discovery and dials; it is not timed.
        try {
          await x.call(method, args, callOpts);
        } catch (e) {
          throw callErrorOf(target, e, outage, r.url);
        }
        const t0 = performance.now();
        bar?.start(total, 0, { rate: 0, errors: 0 });
        const tick = setInterval(() => {
          const s = (performance.now() - t0) / 1000;
          bar?.update(ok + errors, { rate: Math.round((ok + errors) / s), errors });
        }, 100);
        const worker = async () => {
          while (started < total && performance.now() < deadline) {
            started++;
            const t = performance.now();
            try {
              await x.call(method, args, callOpts);
              latencies[ok++] = performance.now() - t;
            } catch (e) {
              errors++;
              firstError ??= e;
            }
          }
        };
        await Promise.all(Array.from({ length: concurrency }, worker));
        clearInterval(tick);
        const seconds = (performance.now() - t0) / 1000;
        bar?.update(ok + errors, { rate: Math.round((ok + errors) / seconds), errors });
        bar?.stop();
        const sorted = latencies.subarray(0, ok).sort();
        const res: BenchResult = {
          calls: ok + errors,
          errors,
          seconds: Math.round(seconds * 1000) / 1000,
          calls_per_sec: Math.round(((ok + errors) / seconds) * 10) / 10,
          p50_us: percentile(sorted, 0.5),
          p99_us: percentile(sorted, 0.99),
          concurrency,
          timed_out: ok + errors < total,
        };
        if (firstError) res.first_error = callError(target, firstError).message;
        return res;
      } finally {
        bar?.stop();
        await x.close();
        await discovery.close();
      }
    });
    if (f.json) console.log(toJson(result));
    else {
      console.log(
        `${result.calls} calls, ${result.errors} errors in ${result.seconds} s: ` +
          `${result.calls_per_sec} calls/s, p50 ${result.p50_us} µs, p99 ${result.p99_us} µs ` +
          `(concurrency ${concurrency})${result.timed_out ? ", stopped at --max-seconds" : ""}`,
      );
    }
    if (result.errors > 0) {
      throw new CliError(
        `${result.errors} calls failed; first: ${result.first_error}`,
        ExitCode.Failed,
      );
    }
  });
}
