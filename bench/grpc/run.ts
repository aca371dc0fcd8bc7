// Runs bench/grpc/load.mjs under Node or Deno for bench/head_to_head.ts (--grpc); for Node,
// installs @grpc/grpc-js and @grpc/proto-loader into bench/grpc/node_modules with npm on first
// use (Deno takes them as npm: specifiers).
const dir = new URL("./", import.meta.url).pathname;

let installed: Promise<void> | undefined;
function install(): Promise<void> {
  return installed ??= (async () => {
    try {
      await Deno.stat(`${dir}node_modules/@grpc/grpc-js`);
      return;
    } catch { /* not yet */ }
    const out = await new Deno.Command("npm", {
      args: ["install", "--no-audit", "--no-fund", "--silent"],
      cwd: dir,
      stdout: "inherit",
      stderr: "inherit",
    }).output();
    if (!out.success) throw new Error("npm install in bench/grpc failed");
  })();
}

/** One grpc-js run: server and client in their own processes under `runtime`. */
export async function runGrpc(
  runtime: "node" | "deno",
  inflight: number,
  s: number,
  seconds: number,
): Promise<
  { calls: number; errors: number; calls_per_sec: number; p50_us: number; p99_us: number }
> {
  if (runtime === "node") await install();
  const script = `${dir}load.mjs`;
  const flags = ["--inflight", String(inflight), "--s", String(s), "--seconds", String(seconds)];
  const [cmd, args] = runtime === "node"
    ? ["node", [script, ...flags]]
    : [Deno.execPath(), ["run", "-A", script, ...flags]];
  const out = await new Deno.Command(cmd, { args, cwd: dir, stderr: "inherit" }).output();
  const line = new TextDecoder().decode(out.stdout).trim().split("\n").filter((l) =>
    l.startsWith("{")
  ).pop();
  if (!line) throw new Error(`grpc-js under ${runtime} printed no result`);
  return JSON.parse(line);
}
