// abi_gen: the build steps that turn a C ABI header into its checked description (abi_description.bzl runs them).
//
//   abi_gen probe    --header=H --include=PATH --out=probe.c   a C program that the C compiler checks against H
//                                                              (every type the reader saw) and that prints the layout
//   abi_gen describe --header=H --layout=L.json --out=D.json   the header as read plus the measured layout
//   abi_gen rust     --description=D.json --out=V.rs           Rust that measures the #[repr(C)] structs and extern "C"
//                                                              fns the same way (included by kernels/abi/abi_view.rs)
// --as=PATH names the input (header or description) in messages and outputs by its workspace path.
// Any failure prints the file:line of the declaration and exits 1.

import fs from "fs";
import { probeSource, rustSource } from "./abi_codegen";
import { AbiDescription, AbiError, describe, MeasuredLayout, parseHeader } from "./c_abi";

// ---- command line ----------------------------------------------------------------------------------------------------

function flags(args: string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const a of args) {
    const eq = a.indexOf("=");
    if (!a.startsWith("--") || eq < 0) throw new AbiError(`abi_gen: bad argument "${a}" (expected --name=value)`);
    m.set(a.slice(2, eq), a.slice(eq + 1));
  }
  return m;
}

function need(m: Map<string, string>, name: string): string {
  const v = m.get(name);
  if (v === undefined) throw new AbiError(`abi_gen: missing --${name}=…`);
  return v;
}

function main(argv: string[]): void {
  const [command, ...rest] = argv;
  const f = flags(rest);
  const read = (name: string) => fs.readFileSync(need(f, name), "utf8");
  // --as: the workspace path to report for the input (a generated file's path would name the build configuration)
  const label = (name: string) => f.get("as") ?? need(f, name);
  let text: string;
  switch (command) {
    case "probe":
      text = probeSource(read("header"), label("header"), need(f, "include"));
      break;
    case "describe": {
      const header = parseHeader(read("header"), label("header"));
      text = JSON.stringify(describe(header, JSON.parse(read("layout")) as MeasuredLayout), null, 1) + "\n";
      break;
    }
    case "rust":
      text = rustSource(JSON.parse(read("description")) as AbiDescription, label("description"));
      break;
    default:
      throw new AbiError(`abi_gen: unknown command "${command ?? ""}" (probe, describe or rust)`);
  }
  fs.writeFileSync(need(f, "out"), text);
}

try {
  main(process.argv.slice(2));
} catch (e) {
  process.stderr.write(`${e instanceof AbiError ? e.message : (e as Error).stack}\n`);
  process.exit(1);
}
