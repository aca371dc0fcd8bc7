// rpcx-examples reflection/server: Arith (Mul, Add and Say, as rpcx-examples' example.Arith)
// with the reflection plugin and service (Go's reflection.New(), s.Plugins.Add(p),
// s.Register(p, "")). Go's reflection/client reads the same text from it as from Go's server.
//   deno run -A examples/reflection/server.ts --addr localhost:8972
import { Server } from "@rpcx/core";
import { Reflection } from "@rpcx/core/reflection";
import { Arith, flag } from "../arith.ts";

class ExampleArith extends Arith {
  /** "hello " + name. */
  Say(name: string): string {
    return `hello ${name}`;
  }
}
// Go prints the type's name; the class here is ExampleArith, so the description names it.
Object.defineProperty(ExampleArith, "name", { value: "Arith" });

const args = { name: "Args", sample: { A: 0, B: 0 } };
const reply = { name: "Reply", sample: { C: 0 } };
const reflection = new Reflection({
  packageName: "rpcx_examples",
  services: {
    Arith: {
      Mul: { args, reply },
      Add: { args, reply },
      Say: { args: "string", reply: "string" },
    },
  },
});
const addr = flag(Deno.args, "addr", "localhost:8972");
const server = new Server();
server.use(reflection);
await server.register(new ExampleArith(), "Arith");
await server.register(reflection);
server.shutdownOnSignals();
console.log(`listening on tcp@${await server.serve("tcp", addr)}`);
