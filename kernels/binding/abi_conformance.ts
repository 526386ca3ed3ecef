// The binding's declarations (library.ts) held to the C ABI as the build read and measured it
// (//kernels/abi:nexa_kernels_abi, a description of nexa_kernels.h whose types the C compiler confirmed).
//
// Every header declaration is checked, so a new one is covered without editing this file:
//   functions  the prototype exists, returns the same type, takes the same arguments (count, names, types), and
//              koffi reads each argument as that type (kind, size, direction);
//   structs    the koffi struct has the same fields in the same order with the same types, and koffi lays it out
//              exactly as the C compiler did (size, alignment, every offset);
//   callbacks  the koffi.proto has the typedef's arguments; handles are declared koffi.opaque.
// Types are compared in one canonical C spelling (c_abi.ts render): typedefs resolved, so nexa_status is int32_t and
// koffi's `nexa_progress_fn *` is the header's nexa_progress_fn, `void (*)(void *, …)`. koffi drops `const`, so the
// koffi-side checks compare types without it; the declared strings keep it and are compared with it.

import {
  AbiDescription,
  AbiError,
  CFunction,
  CType,
  functionPointer,
  MeasuredStruct,
  parsePrototype,
  parseTypeName,
  PrototypeNames,
  render,
  renderFunction,
  SCALARS,
  withoutConst,
} from "@nexa/kernels/abi/c_abi";

/** What library.ts declares (its exported OPAQUE_TYPES, STRUCTS, CALLBACKS and PROTOTYPES). */
export interface BindingDeclarations {
  file: string;
  opaque: readonly string[];
  structs: Readonly<Record<string, Readonly<Record<string, string>>>>;
  callbacks: Readonly<Record<string, string>>;
  prototypes: Readonly<Record<string, string>>;
}

/** The part of koffi's TypeObject the checks read. */
export interface KoffiType {
  name: string;
  primitive: string;
  size: number;
  alignment: number;
  members?: Record<string, { name: string; type: KoffiType; offset: number }>;
}

/** What koffi made of the declarations. */
export interface KoffiView {
  /** The registered type of that name (koffi.type), or undefined. */
  type(name: string): KoffiType | undefined;
  /** koffi's own reading of a prototype string (what it will marshal). */
  prototype(text: string): { arguments: { type: KoffiType; direction: string }[]; result: KoffiType };
}

// ---- koffi's reading of a C type -----------------------------------------------------------------------------------

const KOFFI_PRIMITIVE: Record<string, string> = {
  void: "Void",
  char: "Int8",
  int8_t: "Int8",
  uint8_t: "UInt8",
  int16_t: "Int16",
  uint16_t: "UInt16",
  int32_t: "Int32",
  uint32_t: "UInt32",
  int64_t: "Int64",
  uint64_t: "UInt64",
  size_t: "UInt64",
  float: "Float32",
  double: "Float64",
};

const KOFFI_DIRECTION = { in: "Input", out: "Output", inout: "Input/Output" } as const;

/** Whether koffi's type `k` is the header's type `t`: the same kind, size and (for pointers) pointee, const aside. */
function koffiReads(t: CType, k: KoffiType, structs: readonly string[], opaque: readonly string[]): boolean {
  if (t.kind === "name") {
    if (t.name in SCALARS) return k.primitive === KOFFI_PRIMITIVE[t.name] && k.size === SCALARS[t.name].size;
    if (structs.includes(t.name)) return k.primitive === "Record" && k.name === t.name;
    return opaque.includes(t.name) && k.primitive === "Void" && k.name === t.name;
  }
  if (t.kind === "function") return false;
  if (t.to.kind === "function") return k.primitive === "Callback";
  if (t.to.kind === "name" && t.to.name === "char")
    return k.primitive === "String" || (k.primitive === "Pointer" && k.name === "char *");
  return k.primitive === "Pointer" && k.name === render(withoutConst(t));
}

const describeKoffi = (k: KoffiType) => `${k.name} (${k.primitive}, ${k.size} bytes)`;

// ---- functions and callbacks ---------------------------------------------------------------------------------------

/** A header declaration spelled in koffi's dialect (callback arguments as `<callback> *name`), for "add …" hints. */
export function koffiPrototype(f: CFunction, callbacks: readonly CFunction[]): string {
  const arg = (t: CType, name: string) => {
    const cb = callbacks.find((c) => render(functionPointer(c)) === render(t));
    return cb ? `${cb.name} *${name}` : render(t, name);
  };
  const params = f.params.length === 0 ? "void" : f.params.map((p) => arg(p.type, p.name)).join(", ");
  return render(f.ret, `${f.name}(${params})`);
}

function checkSignature(what: string, at: string, h: CFunction, b: CFunction, file: string): string[] {
  const out: string[] = [];
  if (b.name !== h.name) out.push(`${file}: the prototype of ${h.name} declares ${b.name}`);
  if (render(b.ret) !== render(h.ret))
    out.push(`${at}: ${what} ${h.name} returns ${render(h.ret)} in the header, but ${render(b.ret)} in ${file}`);
  if (b.params.length !== h.params.length) {
    out.push(
      `${at}: ${what} ${h.name} takes ${h.params.length} arguments in the header, but ${b.params.length} in ${file}: ${renderFunction(b)}`,
    );
    return out;
  }
  h.params.forEach((hp, i) => {
    const bp = b.params[i];
    const n = `${what} ${h.name} argument ${i + 1}`;
    if (bp.name !== hp.name) out.push(`${at}: ${n} is named ${hp.name} in the header, but ${bp.name} in ${file}`);
    if (render(bp.type) !== render(hp.type))
      out.push(`${at}: ${n} (${hp.name}) is ${render(hp.type)} in the header, but ${render(bp.type)} in ${file}`);
  });
  return out;
}

// ---- the check -------------------------------------------------------------------------------------------------------

/** Every way the binding's declarations differ from the header, one message each (empty when they agree). */
export function checkBinding(d: AbiDescription, b: BindingDeclarations, koffi: KoffiView): string[] {
  const out: string[] = [];
  const at = (line: number) => `${d.file}:${line}`;
  const structNames = Object.keys(b.structs);
  const read = <T>(what: string, parse: () => T): T | null => {
    try {
      return parse();
    } catch (e) {
      if (!(e instanceof AbiError)) throw e;
      out.push(`${b.file}: ${what}: ${e.message.replace(/^[^:]*:1: /, "")}`);
      return null;
    }
  };

  // Handles.
  for (const o of d.opaque) {
    if (!b.opaque.includes(o.name)) out.push(`${at(o.line)}: handle ${o.name} is not in OPAQUE_TYPES of ${b.file}`);
    else if (koffi.type(o.name)?.primitive !== "Void") out.push(`${at(o.line)}: koffi has no opaque type ${o.name}`);
  }
  for (const o of b.opaque)
    if (!d.opaque.some((x) => x.name === o))
      out.push(`${b.file}: OPAQUE_TYPES has ${o}, which ${d.file} does not declare`);

  // Callbacks (parsed first: prototypes use them).
  const callbacks: CFunction[] = [];
  for (const [name, text] of Object.entries(b.callbacks)) {
    const cb = read(`CALLBACKS.${name}`, () =>
      parsePrototype(text, b.file, { structs: structNames, opaque: b.opaque, callbacks: [] }),
    );
    if (cb) callbacks.push(cb);
  }
  for (const h of d.callbacks) {
    const cb = callbacks.find((c) => c.name === h.name);
    if (!b.callbacks[h.name])
      out.push(
        `${at(h.line)}: callback ${h.name} has no koffi.proto in CALLBACKS of ${b.file}: add "${renderFunction(h)}"`,
      );
    else if (cb) {
      out.push(...checkSignature("callback", at(h.line), h, cb, b.file));
      if (koffi.type(h.name)?.primitive !== "Prototype")
        out.push(`${at(h.line)}: koffi has no prototype type ${h.name}`);
    }
  }
  for (const name of Object.keys(b.callbacks))
    if (!d.callbacks.some((c) => c.name === name))
      out.push(`${b.file}: CALLBACKS has ${name}, which ${d.file} does not declare`);
  const names: PrototypeNames = { structs: structNames, opaque: b.opaque, callbacks };

  // Structs: declared fields against the header, koffi's layout against the C compiler's.
  for (const h of d.structs) {
    const declared = b.structs[h.name];
    if (!declared) {
      const fields = h.fields.map((f) => `${f.name}: "${render(f.type)}"`).join(", ");
      out.push(
        `${at(h.line)}: struct ${h.name} has no koffi struct in STRUCTS of ${b.file}: add ${h.name}: { ${fields} }`,
      );
      continue;
    }
    out.push(...checkStruct(h, declared, koffi.type(h.name), names, d.file, b.file, read));
  }
  for (const name of structNames)
    if (!d.structs.some((s) => s.name === name))
      out.push(`${b.file}: STRUCTS has ${name}, which ${d.file} does not declare`);

  // Functions.
  for (const h of d.functions) {
    const text = b.prototypes[h.name];
    if (text === undefined) {
      out.push(
        `${at(h.line)}: ${h.name} has no prototype in PROTOTYPES of ${b.file}: add "${koffiPrototype(h, callbacks)}" (mark single-value outputs _Out_)`,
      );
      continue;
    }
    const p = read(`PROTOTYPES.${h.name}`, () => parsePrototype(text, b.file, names));
    if (!p) continue;
    const problems = checkSignature("function", at(h.line), h, p, b.file);
    out.push(...problems);
    if (problems.length > 0) continue;
    const k = koffi.prototype(text);
    if (!koffiReads(h.ret, k.result, structNames, b.opaque)) {
      out.push(
        `${at(h.line)}: koffi reads the result of ${h.name} as ${describeKoffi(k.result)}, not ${render(h.ret)}`,
      );
    }
    if (k.arguments.length !== h.params.length) {
      out.push(
        `${at(h.line)}: koffi reads ${k.arguments.length} arguments of ${h.name}, the header declares ${h.params.length}`,
      );
      continue;
    }
    h.params.forEach((hp, i) => {
      const ka = k.arguments[i];
      const n = `${h.name} argument ${i + 1} (${hp.name})`;
      if (!koffiReads(hp.type, ka.type, structNames, b.opaque))
        out.push(`${at(h.line)}: koffi reads ${n} as ${describeKoffi(ka.type)}, not ${render(hp.type)}`);
      const direction = KOFFI_DIRECTION[p.directions?.[i] ?? "in"];
      if (ka.direction !== direction)
        out.push(`${at(h.line)}: koffi passes ${n} as ${ka.direction}, the prototype says ${direction}`);
    });
  }
  for (const name of Object.keys(b.prototypes))
    if (!d.functions.some((f) => f.name === name))
      out.push(`${b.file}: PROTOTYPES has ${name}, which ${d.file} does not declare`);
  return out;
}

function checkStruct(
  h: MeasuredStruct,
  declared: Readonly<Record<string, string>>,
  k: KoffiType | undefined,
  names: PrototypeNames,
  header: string,
  file: string,
  read: <T>(what: string, parse: () => T) => T | null,
): string[] {
  const out: string[] = [];
  const at = (line: number) => `${header}:${line}`;
  const hNames = h.fields.map((f) => f.name);
  const bNames = Object.keys(declared);
  for (const f of h.fields)
    if (!bNames.includes(f.name))
      out.push(`${at(f.line)}: field ${h.name}.${f.name} is missing in STRUCTS.${h.name} of ${file}`);
  for (const f of bNames)
    if (!hNames.includes(f)) out.push(`${file}: STRUCTS.${h.name}.${f} is not a field of ${h.name} in ${header}`);
  const common = hNames.filter((f) => bNames.includes(f));
  if (common.join() !== bNames.filter((f) => hNames.includes(f)).join()) {
    out.push(
      `${at(h.line)}: the fields of ${h.name} are in the order ${common.join(", ")} in the header, but ${bNames.join(", ")} in ${file}`,
    );
  }
  for (const f of h.fields) {
    if (!(f.name in declared)) continue;
    const t = read(`STRUCTS.${h.name}.${f.name}`, () => parseTypeName(declared[f.name], file, names));
    if (t && render(t) !== render(f.type))
      out.push(
        `${at(f.line)}: field ${h.name}.${f.name} is ${render(f.type)} in the header, but ${render(t)} in ${file}`,
      );
  }
  if (!k || k.primitive !== "Record") {
    out.push(`${at(h.line)}: koffi has no struct type ${h.name} (library.ts registers STRUCTS with koffi.struct)`);
    return out;
  }
  if (k.size !== h.size || k.alignment !== h.align) {
    out.push(
      `${at(h.line)}: struct ${h.name} is ${h.size} bytes aligned to ${h.align} in C, but koffi lays it out in ${k.size} bytes aligned to ${k.alignment}`,
    );
  }
  for (const f of h.fields) {
    const m = k.members?.[f.name];
    if (!m) continue;
    if (m.offset !== f.offset)
      out.push(`${at(f.line)}: field ${h.name}.${f.name} is at offset ${f.offset} in C, but at ${m.offset} in koffi`);
    if (!koffiReads(f.type, m.type, names.structs, names.opaque))
      out.push(
        `${at(f.line)}: koffi reads field ${h.name}.${f.name} as ${describeKoffi(m.type)}, not ${render(f.type)}`,
      );
  }
  return out;
}
