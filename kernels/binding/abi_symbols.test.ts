// The header and the library's exported symbols name the same functions: this fails when a function is added to one
// side only (or renamed), before any caller hits a missing symbol. The binding's declarations are held to the header
// in abi_conformance.test.ts; here the library must not import libm either.

import fs from "fs";
import path from "path";
import type { AbiDescription } from "@nexa/kernels/abi/c_abi";
import { DECLARED_FUNCTIONS, libraryPath } from "./index";

/** Function names declared in nexa_kernels.h, as the build read it (//kernels/abi:nexa_kernels_abi). */
function headerFunctions(): string[] {
  const file = path.join(__dirname, "..", "abi", "nexa_kernels_abi.json");
  return (JSON.parse(fs.readFileSync(file, "utf8")) as AbiDescription).functions.map((f) => f.name).sort();
}

/**
 * Global FUNC symbols of an ELF64 little-endian shared object's .dynsym: the defined ones (like
 * `nm -D --defined-only`) or, with `undefined`, the ones it imports (like `nm -D --undefined-only`).
 */
function dynamicFunctions(file: string, undefinedOnly = false): string[] {
  const b = fs.readFileSync(file);
  if (b.readUInt32BE(0) !== 0x7f454c46 || b[4] !== 2 || b[5] !== 1) throw new Error(`${file}: not an ELF64 LE file`);
  const shoff = Number(b.readBigUInt64LE(0x28));
  const shentsize = b.readUInt16LE(0x3a);
  const shnum = b.readUInt16LE(0x3c);
  const section = (i: number) => {
    const o = shoff + i * shentsize;
    return {
      type: b.readUInt32LE(o + 4),
      offset: Number(b.readBigUInt64LE(o + 0x18)),
      size: Number(b.readBigUInt64LE(o + 0x20)),
      link: b.readUInt32LE(o + 0x28),
      entsize: Number(b.readBigUInt64LE(o + 0x38)),
    };
  };
  const names: string[] = [];
  for (let i = 0; i < shnum; i++) {
    const s = section(i);
    if (s.type !== 11) continue; // SHT_DYNSYM
    const strtab = section(s.link);
    for (let o = s.offset; o < s.offset + s.size; o += s.entsize) {
      const nameOff = b.readUInt32LE(o);
      const info = b[o + 4];
      const shndx = b.readUInt16LE(o + 6);
      const isFunc = (info & 0xf) === 2;
      const isGlobal = info >> 4 === 1 || info >> 4 === 2;
      if (!isFunc || !isGlobal || (shndx === 0) !== undefinedOnly) continue;
      const start = strtab.offset + nameOff;
      names.push(b.toString("latin1", start, b.indexOf(0, start)));
    }
  }
  return names.sort();
}

const exportedFunctions = (file: string) => dynamicFunctions(file).filter((n) => n.startsWith("nexa_"));

/** Math functions of the C library whose last bits differ between implementations (glibc, musl, …). */
const LIBM = [
  "exp",
  "exp2",
  "expm1",
  "log",
  "log2",
  "log10",
  "log1p",
  "pow",
  "cos",
  "sin",
  "tan",
  "tanh",
  "sinh",
  "cosh",
  "atan",
  "atan2",
  "asin",
  "acos",
  "erf",
  "erfc",
  "cbrt",
  "hypot",
  "fma",
  "lgamma",
  "tgamma",
].flatMap((f) => [f, `${f}f`]);

describe("ABI surface", () => {
  test("header and library export the same functions", () => {
    const header = headerFunctions();
    expect(header.length).toBeGreaterThan(20);
    expect(exportedFunctions(libraryPath())).toEqual(header);
  });

  test("the library imports no libm math function (results never depend on the C library)", () => {
    const imports = dynamicFunctions(libraryPath(), true);
    expect(imports).toContain("malloc"); // the reader sees the imports at all
    expect(imports.filter((n) => LIBM.includes(n.replace(/@.*$/, "")))).toEqual([]);
  });

  test("the binding declares exactly the header's functions", () => {
    expect([...DECLARED_FUNCTIONS].sort()).toEqual(headerFunctions());
  });
});
