/**
 * The `rpcx` command line: `deno run -A src/cli/main.ts --help` (`deno task rpcx --help` in
 * this repository; `deno compile -A -o rpcx src/cli/main.ts` for one binary).
 *
 * @module
 */
import { runRpcx } from "./program.ts";

if (import.meta.main) Deno.exit(await runRpcx(Deno.args));
