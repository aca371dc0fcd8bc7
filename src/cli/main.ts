/**
 * The `rpcx` command line: `deno run -A src/cli/main.ts --help` (`deno task rpcx --help` in
 * this repository; `deno compile -A -o rpcx src/cli/main.ts` for one binary).
 *
 * @module
 */
import { runtime } from "../runtime/mod.ts";
import { runRpcx } from "./program.ts";

const { process } = runtime();
if (process.isMain(import.meta)) process.exit(await runRpcx(process.args()));
