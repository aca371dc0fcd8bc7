// TS vs native wire codec under `deno bench` (deno task bench, or
// `deno bench -A bench/codec_bench.ts`). The cases are those of bench/ratios.ts, which prints
// the same comparison as a markdown table. Native rows need `deno task build:native`.
import { buildCases, setup } from "./ratios.ts";

const s = setup();
if (s.missing) console.warn(`codec_bench: native library not loaded, TS rows only: ${s.missing}`);

for (const c of buildCases(s)) {
  Deno.bench({ name: `${c.name} [ts]`, group: c.name, baseline: true, fn: () => void c.ts() });
  if (c.native) {
    const native = c.native;
    Deno.bench({ name: `${c.name} [native]`, group: c.name, fn: () => void native() });
  }
}
