// `deno task test`: every test file (tests/*_test.ts and the pure-module tests beside their
// modules in src/) in a `deno test` process of its own, one after another, then a summary.
//
// One process per file, not one for the whole suite: a file's leftovers (heap, sockets, timers of a
// failed test) cannot reach the next file, and a runtime crash names its file instead of ending
// the suite. In this project's CI a whole-suite `deno test` process once ended with SIGSEGV
// (exit 139) in the middle of the etcd tests, which passed alone and in their neighbours' company;
// per file the cost is ~1 s of start-up each (the type check runs once, for all files, first). Files run one at a time: the timing-sensitive tests
// assume nothing else runs beside them.
//
// Usage: deno run -A tools/test.ts [deno test flags...] [-- file filters]
//   e.g. `deno task test -- etcd zookeeper` runs the files whose path contains either word.
import { relative } from "node:path";

const ROOT = new URL("..", import.meta.url).pathname;

async function* walk(dir: string): AsyncGenerator<string> {
  for await (const e of Deno.readDir(dir)) {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory) {
      if (e.name === "testdata" || e.name === "node_modules") continue;
      yield* walk(path);
    } else if (e.isFile && e.name.endsWith("_test.ts")) yield path;
  }
}

const sep = Deno.args.indexOf("--");
const flags = sep < 0 ? Deno.args : Deno.args.slice(0, sep);
const filters = sep < 0 ? [] : Deno.args.slice(sep + 1);

const files: string[] = [];
for (const dir of ["tests", "src"]) {
  for await (const f of walk(`${ROOT}${dir}`)) files.push(relative(ROOT, f));
}
files.sort();
const chosen = filters.length ? files.filter((f) => filters.some((w) => f.includes(w))) : files;

const t0 = performance.now();
// One type check of every chosen file first (Deno's check cache is per set of roots, so checking
// file by file would check the shared modules again for each), then each file runs unchecked.
const check = await new Deno.Command(Deno.execPath(), {
  args: ["check", ...chosen],
  cwd: ROOT,
  stdin: "null",
}).spawn().status;
if (!check.success) {
  console.error("!!! the test files do not type-check");
  Deno.exit(1);
}

/** How many of a file's last output lines the summary repeats when it fails. */
const TAIL_LINES = 60;

/**
 * Copies `from` to `to` as it arrives and keeps its last `TAIL_LINES` lines: a CI log is often
 * read from its end only, so a failed file's own report is repeated under the summary.
 */
async function relay(from: ReadableStream<Uint8Array>, to: typeof Deno.stdout, tail: string[]) {
  const text = new TextDecoder();
  let partial = "";
  for await (const chunk of from) {
    // (write may take only part of it)
    for (let done = 0; done < chunk.length;) done += await to.write(chunk.subarray(done));
    const lines = (partial + text.decode(chunk, { stream: true })).split("\n");
    partial = lines.pop()!;
    tail.push(...lines);
    if (tail.length > 4 * TAIL_LINES) tail.splice(0, tail.length - TAIL_LINES);
  }
  if (partial) tail.push(partial);
}

const failed: { file: string; code: number; signal: string | null; tail: string[] }[] = [];
for (const file of chosen) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["test", "-A", "--no-check", ...flags, file],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const tail: string[] = [];
  // stderr and stdout into one tail, in the order they arrive.
  await Promise.all([
    relay(child.stdout, Deno.stdout, tail),
    relay(child.stderr, Deno.stderr, tail),
  ]);
  const { code, signal } = await child.status;
  if (code !== 0) {
    // From deno test's own ERRORS section when it is still held, else the last lines.
    const errors = tail.findLastIndex((l) => l.includes(" ERRORS "));
    const from = errors >= 0 ? Math.max(errors, tail.length - 2 * TAIL_LINES) : -TAIL_LINES;
    failed.push({ file, code, signal, tail: tail.slice(from) });
    console.error(`!!! ${file}: exit ${code}${signal ? ` (${signal})` : ""}`);
  }
}
const took = ((performance.now() - t0) / 1000).toFixed(0);
console.log(
  `\n== ${chosen.length - failed.length} of ${chosen.length} test files passed in ${took} s`,
);
for (const f of failed) {
  console.log(`\n== the end of ${f.file}'s output:`);
  for (const line of f.tail) console.log(`   ${line}`);
}
for (const f of failed) {
  console.log(`FAILED ${f.file} (exit ${f.code}${f.signal ? `, ${f.signal}` : ""})`);
}
Deno.exit(failed.length ? 1 : 0);
