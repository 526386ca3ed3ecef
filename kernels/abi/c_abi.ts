// The C ABI as data: a strict reader of nexa_kernels.h (and of the koffi prototype strings that mirror it), the
// canonical spelling of C types that every conformance check compares, and the ABI description format.
//
// The reader accepts exactly the C the header is written in and fails with file:line and the fix on anything else,
// so a declaration it cannot read never passes unchecked:
//   #include, the include guard, `#ifdef __cplusplus … #endif` (skipped, as a C compiler does), `#define NAME <integer>`;
//   `typedef struct X X;` (opaque handle), `typedef struct X { T field; … } X;`, `typedef T NAME;` (alias),
//   `typedef R (*NAME)(T a, …);` (callback), `R name(T a, …);` (function). Types are <stdint.h> fixed-width
//   integers, size_t, float, double, char, void and the header's own typedefs, with `const` and `*`.
// Aliases resolve to what they name (nexa_status is int32_t, nexa_progress_fn is `void (*)(void *, …)`); structs and
// handles keep their names. The spelling (render) is valid C, so the layout probe hands it back to the C compiler.

// ---- types ---------------------------------------------------------------------------------------------------------

/** A C type: a named type (scalar, struct or handle), a pointer, or a function (only as a pointer's target). */
export type CType =
  | { kind: "name"; name: string; const: boolean }
  | { kind: "pointer"; to: CType; const: boolean }
  | { kind: "function"; ret: CType; params: CParam[] };

export interface CParam {
  name: string;
  type: CType;
}

/** koffi's direction marker on a prototype parameter (`_Out_ size_t *out_len`); absent in C. */
export type Direction = "in" | "out" | "inout";

export interface CConstant {
  name: string;
  value: number;
  line: number;
}
export interface COpaque {
  name: string;
  line: number;
}
export interface CField {
  name: string;
  type: CType;
  line: number;
}
export interface CStruct {
  name: string;
  line: number;
  fields: CField[];
}
/** A function or callback declaration; `directions` only in koffi prototypes. */
export interface CFunction {
  name: string;
  line: number;
  ret: CType;
  params: CParam[];
  directions?: Direction[];
}

/** What the reader found in a header, in declaration order. */
export interface CHeader {
  file: string;
  constants: CConstant[];
  opaque: COpaque[];
  structs: CStruct[];
  callbacks: CFunction[];
  functions: CFunction[];
}

/** Measured by the layout probe (a C program compiled against the header): per struct and field, in bytes. */
export interface MeasuredLayout {
  [struct: string]: {
    size: number;
    align: number;
    fields: { [field: string]: { offset: number; size: number; align: number } };
  };
}

/** A field with its offset, size and alignment in bytes, as the C compiler laid it out. */
export interface MeasuredField extends CField {
  offset: number;
  size: number;
  align: number;
}
export interface MeasuredStruct {
  name: string;
  line: number;
  size: number;
  align: number;
  fields: MeasuredField[];
}

/** The ABI description (`<name>.json`): the header as read, each struct with the C compiler's layout. */
export interface AbiDescription extends Omit<CHeader, "structs"> {
  structs: MeasuredStruct[];
}

/** A declaration the reader does not accept, or a description that does not hold together; names file:line. */
export class AbiError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AbiError";
  }
}

/** Scalar types the ABI may use (sizes and kinds as on LP64 Linux, the only platform the project builds for). */
export const SCALARS: Record<string, { size: number; kind: "int" | "uint" | "float" | "char" | "void" }> = {
  void: { size: 0, kind: "void" },
  char: { size: 1, kind: "char" },
  int8_t: { size: 1, kind: "int" },
  uint8_t: { size: 1, kind: "uint" },
  int16_t: { size: 2, kind: "int" },
  uint16_t: { size: 2, kind: "uint" },
  int32_t: { size: 4, kind: "int" },
  uint32_t: { size: 4, kind: "uint" },
  int64_t: { size: 8, kind: "int" },
  uint64_t: { size: 8, kind: "uint" },
  size_t: { size: 8, kind: "uint" },
  float: { size: 4, kind: "float" },
  double: { size: 8, kind: "float" },
};

const SCALAR_HINT =
  "the ABI uses <stdint.h> fixed-width integers, size_t, float, double, char, void and its own typedefs";

// ---- spelling --------------------------------------------------------------------------------------------------------

/** The canonical C spelling of `t`, with an optional declarator name: `const uint8_t *data`, `void (*)(void *)`. */
export function render(t: CType, declarator = ""): string {
  switch (t.kind) {
    case "name":
      return `${t.const ? "const " : ""}${t.name}${declarator ? " " + declarator : ""}`;
    case "pointer": {
      const star = `*${t.const ? "const" + (declarator ? " " : "") : ""}${declarator}`;
      return t.to.kind === "function" ? render(t.to, `(${star})`) : render(t.to, star);
    }
    case "function": {
      const params = t.params.length === 0 ? "void" : t.params.map((p) => render(p.type)).join(", ");
      return render(t.ret, `${declarator}(${params})`);
    }
  }
}

/** `t` with every `const` removed (koffi does not keep const; the ABI's values are the same either way). */
export function withoutConst(t: CType): CType {
  switch (t.kind) {
    case "name":
      return { ...t, const: false };
    case "pointer":
      return { kind: "pointer", to: withoutConst(t.to), const: false };
    case "function":
      return {
        kind: "function",
        ret: withoutConst(t.ret),
        params: t.params.map((p) => ({ ...p, type: withoutConst(p.type) })),
      };
  }
}

/** A function declaration as one line of C: `int32_t nexa_gate_new(const nexa_gate_config *config, nexa_gate **out)`. */
export function renderFunction(f: CFunction): string {
  const params = f.params.length === 0 ? "void" : f.params.map((p) => render(p.type, p.name)).join(", ");
  return render(f.ret, `${f.name}(${params})`);
}

/** The pointer-to-function type of a declaration (what `&f` has in C). */
export function functionPointer(f: CFunction): CType {
  return { kind: "pointer", const: false, to: { kind: "function", ret: f.ret, params: f.params } };
}

// ---- tokens ----------------------------------------------------------------------------------------------------------

interface Token {
  text: string;
  line: number;
}

const TOKEN = /[A-Za-z_][A-Za-z0-9_]*|0[xX][0-9A-Fa-f]+[uUlL]*|[0-9]+[uUlL]*|[*(),;{}[\]:=]|\S/g;

function tokenize(code: string, firstLine: number): Token[] {
  const out: Token[] = [];
  code.split("\n").forEach((text, i) => {
    for (const m of text.matchAll(TOKEN)) out.push({ text: m[0], line: firstLine + i });
  });
  return out;
}

/** Blanks out comments, keeping every newline so that lines still count. */
function stripComments(src: string, file: string): string {
  let out = "";
  let i = 0;
  while (i < src.length) {
    if (src.startsWith("/*", i)) {
      const end = src.indexOf("*/", i + 2);
      if (end < 0) throw new AbiError(`${file}:${lineAt(src, i)}: unterminated /* comment`);
      out += src.slice(i, end + 2).replace(/[^\n]/g, " ");
      i = end + 2;
    } else if (src.startsWith("//", i)) {
      const end = src.indexOf("\n", i);
      i = end < 0 ? src.length : end;
    } else {
      out += src[i++];
    }
  }
  return out;
}

const lineAt = (src: string, index: number) => src.slice(0, index).split("\n").length;

// ---- types and declarators ------------------------------------------------------------------------------------------

/** What a name means where it is used: scalars, the header's typedefs, and (in koffi prototypes) callbacks. */
type Binding =
  | { kind: "scalar" }
  | { kind: "struct" }
  | { kind: "opaque" }
  | { kind: "alias"; type: CType }
  | { kind: "function"; type: CType };

class Parser {
  private pos = 0;

  constructor(
    private readonly tokens: Token[],
    private readonly file: string,
    private readonly names: Map<string, Binding>,
    private readonly directions = false,
  ) {}

  private fail(message: string, at = this.pos): never {
    const tok = this.tokens[Math.min(at, this.tokens.length - 1)];
    throw new AbiError(`${this.file}:${tok ? tok.line : 1}: ${message}`);
  }

  peek(offset = 0): string | undefined {
    return this.tokens[this.pos + offset]?.text;
  }

  line(): number {
    return this.tokens[Math.min(this.pos, this.tokens.length - 1)]?.line ?? 1;
  }

  done(): boolean {
    return this.pos >= this.tokens.length;
  }

  next(): string {
    if (this.done()) this.fail("unexpected end of declaration");
    return this.tokens[this.pos++].text;
  }

  expect(text: string, what: string): void {
    const got = this.next();
    if (got !== text) this.fail(`expected "${text}" ${what}, found "${got}"`, this.pos - 1);
  }

  identifier(what: string): string {
    const got = this.next();
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(got)) this.fail(`expected ${what}, found "${got}"`, this.pos - 1);
    return got;
  }

  /** `const? NAME const? (* const?)*`: a type without its declarator name. */
  type(): CType {
    let isConst = false;
    while (this.peek() === "const") {
      this.pos++;
      isConst = true;
    }
    const at = this.pos;
    const name = this.identifier("a type name");
    if (name === "struct" || name === "enum" || name === "union") {
      this.fail(
        `"${name} ${this.peek() ?? ""}" as a type: ${name === "struct" ? "use the struct's typedef name" : `the ABI has no ${name}s; use a fixed-width integer`}`,
        at,
      );
    }
    if (["unsigned", "signed", "int", "long", "short", "bool", "_Bool"].includes(name)) {
      this.fail(`type "${name}": ${SCALAR_HINT}`, at);
    }
    const binding = this.names.get(name);
    if (!binding) this.fail(`unknown type "${name}": ${SCALAR_HINT} (declared before use)`, at);
    while (this.peek() === "const") {
      this.pos++;
      isConst = true;
    }
    let t: CType;
    switch (binding.kind) {
      case "alias":
        t = binding.type.kind === "function" ? binding.type : { ...binding.type, const: binding.type.const || isConst };
        break;
      case "function":
        if (isConst) this.fail(`const on the function type "${name}"`, at);
        t = binding.type;
        break;
      default:
        t = { kind: "name", name, const: isConst };
    }
    while (this.peek() === "*") {
      this.pos++;
      let ptrConst = false;
      while (this.peek() === "const") {
        this.pos++;
        ptrConst = true;
      }
      t = { kind: "pointer", to: t, const: ptrConst };
    }
    if (t.kind === "function") this.fail(`the function type "${name}" is used without "*"`, at);
    return t;
  }

  /** `( void )` or `( T a, T b, … )`; names are required (the checks report arguments by name). */
  params(owner: string): { params: CParam[]; directions: Direction[] } {
    this.expect("(", `after ${owner}`);
    const params: CParam[] = [];
    const directions: Direction[] = [];
    if (this.peek() === "void" && this.peek(1) === ")") {
      this.pos += 2;
      return { params, directions };
    }
    if (this.peek() === ")") this.fail(`${owner}() has an empty parameter list: write (void)`);
    for (;;) {
      let direction: Direction = "in";
      const marker = this.peek();
      if (this.directions && (marker === "_In_" || marker === "_Out_" || marker === "_Inout_")) {
        this.pos++;
        direction = marker === "_In_" ? "in" : marker === "_Out_" ? "out" : "inout";
      }
      const type = this.type();
      if (this.peek() === "(")
        this.fail(`${owner}: a function pointer written inline; typedef it (like nexa_progress_fn)`);
      if (this.peek() === "," || this.peek() === ")") this.fail(`${owner}: argument ${params.length + 1} has no name`);
      const name = this.identifier(`the name of argument ${params.length + 1} of ${owner}`);
      if (this.peek() === "[") this.fail(`${owner}: array parameter "${name}[]"; write a pointer`);
      if (type.kind === "pointer" && direction !== "in" && type.to.kind === "name" && type.to.const) {
        this.fail(`${owner}: argument ${name} is marked ${marker} but points to const data`);
      }
      // A top-level const on a parameter is not part of the function's type.
      params.push({ name, type: type.kind === "function" ? type : { ...type, const: false } });
      directions.push(direction);
      const sep = this.next();
      if (sep === ")") return { params, directions };
      if (sep !== ",") this.fail(`expected "," or ")" in the arguments of ${owner}, found "${sep}"`, this.pos - 1);
    }
  }

  end(what: string): void {
    if (!this.done()) this.fail(`unexpected "${this.peek()}" after ${what}`);
  }
}

// ---- declarations ----------------------------------------------------------------------------------------------------

function scalarNames(): Map<string, Binding> {
  return new Map(Object.keys(SCALARS).map((n) => [n, { kind: "scalar" } as Binding]));
}

/** Splits tokens into declarations at `;` outside braces. */
function statements(tokens: Token[], file: string): Token[][] {
  const out: Token[][] = [];
  let cur: Token[] = [];
  let depth = 0;
  for (const t of tokens) {
    if (t.text === "{") depth++;
    if (t.text === "}") depth--;
    if (depth < 0) throw new AbiError(`${file}:${t.line}: unbalanced "}"`);
    if (t.text === ";" && depth === 0) {
      out.push(cur);
      cur = [];
    } else {
      cur.push(t);
    }
  }
  if (cur.length > 0) throw new AbiError(`${file}:${cur[0].line}: declaration without a closing ";"`);
  return out;
}

function declare(header: CHeader, names: Map<string, Binding>, tokens: Token[], file: string): void {
  const p = new Parser(tokens, file, names);
  const fresh = (name: string) => {
    if (names.has(name))
      throw new AbiError(`${file}:${p.line()}: "${name}" is declared twice (or shadows a scalar type)`);
  };
  const line = p.line();
  if (p.peek() === "typedef" && p.peek(1) === "struct") {
    p.next();
    p.next();
    const tag = p.identifier("a struct tag");
    if (p.peek() !== "{") {
      const name = p.identifier("the typedef name of the handle");
      if (name !== tag)
        throw new AbiError(`${file}:${line}: typedef struct ${tag} ${name}: the tag and the name must be the same`);
      p.end(`typedef struct ${tag} ${name}`);
      fresh(name);
      names.set(name, { kind: "opaque" });
      header.opaque.push({ name, line });
      return;
    }
    p.next(); // {
    const fields: CField[] = [];
    while (p.peek() !== "}") {
      const fieldLine = p.line();
      const type = p.type();
      const field = p.identifier(`a field name in ${tag}`);
      const after = p.next();
      if (after === "[")
        throw new AbiError(
          `${file}:${fieldLine}: ${tag}.${field} is an array; the ABI checks support scalar, struct and pointer fields (extend kernels/abi/c_abi.ts first)`,
        );
      if (after === ":")
        throw new AbiError(`${file}:${fieldLine}: ${tag}.${field} is a bit-field; use a whole integer`);
      if (after === ",")
        throw new AbiError(`${file}:${fieldLine}: ${tag}: declare one field per declaration (${field}, …)`);
      if (after !== ";")
        throw new AbiError(`${file}:${fieldLine}: expected ";" after ${tag}.${field}, found "${after}"`);
      if (type.kind === "name" && type.name === "void")
        throw new AbiError(`${file}:${fieldLine}: ${tag}.${field} has type void`);
      if (type.kind === "name" && names.get(type.name)?.kind === "opaque") {
        throw new AbiError(
          `${file}:${fieldLine}: ${tag}.${field} holds the opaque ${type.name} by value; use a pointer`,
        );
      }
      if (fields.some((f) => f.name === field))
        throw new AbiError(`${file}:${fieldLine}: ${tag}.${field} is declared twice`);
      fields.push({ name: field, type, line: fieldLine });
    }
    p.next(); // }
    if (fields.length === 0) throw new AbiError(`${file}:${line}: struct ${tag} has no fields`);
    const name = p.identifier(`the typedef name of struct ${tag}`);
    if (name !== tag)
      throw new AbiError(`${file}:${line}: typedef struct ${tag} {…} ${name}: the tag and the name must be the same`);
    p.end(`typedef struct ${tag} {…} ${name}`);
    fresh(name);
    names.set(name, { kind: "struct" });
    header.structs.push({ name, line, fields });
    return;
  }
  if (p.peek() === "typedef") {
    p.next();
    const type = p.type();
    if (p.peek() === "(") {
      p.next();
      p.expect("*", "in a function pointer typedef: typedef R (*name)(…)");
      const name = p.identifier("the callback's typedef name");
      p.expect(")", `after (*${name}`);
      const { params } = p.params(name);
      p.end(`the callback typedef ${name}`);
      fresh(name);
      const fn: CFunction = { name, line, ret: type, params };
      names.set(name, { kind: "alias", type: functionPointer(fn) });
      header.callbacks.push(fn);
      return;
    }
    const name = p.identifier("the typedef name");
    p.end(`typedef ${render(type)} ${name}`);
    fresh(name);
    names.set(name, { kind: "alias", type });
    return;
  }
  if (p.peek() === "extern" || p.peek() === "static" || p.peek() === "inline") {
    throw new AbiError(`${file}:${line}: "${p.peek()}" declarations are not part of the ABI`);
  }
  const ret = p.type();
  const name = p.identifier("a function name");
  if (p.peek() !== "(")
    throw new AbiError(`${file}:${line}: "${name}" is not a function declaration (the ABI exports functions only)`);
  const { params } = p.params(name);
  p.end(`the declaration of ${name}`);
  if (header.functions.some((f) => f.name === name))
    throw new AbiError(`${file}:${line}: function ${name} is declared twice`);
  header.functions.push({ name, line, ret, params });
}

// ---- the header ------------------------------------------------------------------------------------------------------

function integerLiteral(text: string): number | null {
  const m = /^(0[xX][0-9A-Fa-f]+|[0-9]+)[uU]?$/.exec(text);
  if (!m) return null;
  const v = BigInt(m[1]);
  return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : null;
}

/** Reads a header; throws AbiError naming file:line for anything outside the accepted C (see the top of this file). */
export function parseHeader(src: string, file: string): CHeader {
  const header: CHeader = { file, constants: [], opaque: [], structs: [], callbacks: [], functions: [] };
  const names = scalarNames();
  const lines = stripComments(src, file).split("\n");
  const code: string[] = [];
  const conditionals: { kind: "guard" | "cplusplus"; name: string; line: number }[] = [];
  let guardSeen = false;
  let guardDefined = false;
  lines.forEach((raw, i) => {
    const line = i + 1;
    const text = raw.trim();
    const skipping = conditionals.some((c) => c.kind === "cplusplus");
    if (!text.startsWith("#")) {
      if (skipping) {
        if (text !== "" && text !== 'extern "C" {' && text !== "}") {
          throw new AbiError(
            `${file}:${line}: only extern "C" { … } belongs inside #ifdef __cplusplus (C compilers skip it)`,
          );
        }
        code.push("");
      } else {
        code.push(raw);
      }
      return;
    }
    code.push("");
    const [directive, ...rest] = text.slice(1).trim().split(/\s+/);
    const arg = rest.join(" ");
    if (directive === "include") {
      if (!/^<[A-Za-z0-9_./]+>$/.test(arg))
        throw new AbiError(
          `${file}:${line}: #include ${arg}: the ABI header includes only system headers (<stdint.h>, <stddef.h>)`,
        );
    } else if (directive === "ifndef" && conditionals.length === 0 && !guardSeen) {
      guardSeen = true;
      conditionals.push({ kind: "guard", name: arg, line });
    } else if (directive === "ifdef" && arg === "__cplusplus") {
      conditionals.push({ kind: "cplusplus", name: arg, line });
    } else if (directive === "endif") {
      if (!conditionals.pop()) throw new AbiError(`${file}:${line}: #endif without #if`);
    } else if (directive === "define") {
      if (skipping) throw new AbiError(`${file}:${line}: #define inside #ifdef __cplusplus`);
      const [name, ...valueParts] = rest;
      if (!name || !/^[A-Z_][A-Z0-9_]*$/.test(name))
        throw new AbiError(`${file}:${line}: #define ${arg}: names are UPPER_CASE and macros take no arguments`);
      const guard = conditionals.find((c) => c.kind === "guard");
      if (valueParts.length === 0) {
        if (!guard || guard.name !== name || guardDefined)
          throw new AbiError(`${file}:${line}: #define ${name} without a value (only the include guard may)`);
        guardDefined = true;
        return;
      }
      const value = integerLiteral(valueParts.join(" "));
      if (value === null)
        throw new AbiError(
          `${file}:${line}: #define ${name} ${valueParts.join(" ")}: constants are integer literals (decimal or hex, optional u)`,
        );
      if (header.constants.some((c) => c.name === name)) throw new AbiError(`${file}:${line}: #define ${name} twice`);
      header.constants.push({ name, value, line });
    } else {
      throw new AbiError(
        `${file}:${line}: #${directive} is not accepted in the ABI header (only #include, the include guard, #ifdef __cplusplus and #define NAME <integer>)`,
      );
    }
  });
  if (conditionals.length > 0) {
    const open = conditionals[conditionals.length - 1];
    throw new AbiError(
      `${file}:${open.line}: #if${open.kind === "guard" ? "ndef" : "def"} ${open.name} is never closed`,
    );
  }
  const tokens = tokenize(code.join("\n"), 1);
  for (const stmt of statements(tokens, file)) declare(header, names, stmt, file);
  if (header.functions.length === 0) throw new AbiError(`${file}: no function declarations found`);
  return header;
}

// ---- koffi prototypes ------------------------------------------------------------------------------------------------

/** The names a koffi prototype may use: the header's structs and handles, and callbacks as function types. */
export interface PrototypeNames {
  structs: readonly string[];
  opaque: readonly string[];
  /** Callback prototypes (koffi.proto) by name; a parameter `name *` is a pointer to that function. */
  callbacks: readonly CFunction[];
}

/**
 * Reads one koffi prototype string, e.g. `int32_t nexa_gate_new(const nexa_gate_config *config, _Out_ nexa_gate **out)`.
 * koffi's dialect differs from C in two ways: parameters may carry a direction (`_In_`, `_Out_`, `_Inout_`), and a
 * callback is a function type used through a pointer (`nexa_progress_fn *progress`).
 */
export function parsePrototype(text: string, file: string, names: PrototypeNames): CFunction {
  const p = new Parser(tokenize(text, 1), file, prototypeNames(names), true);
  const ret = p.type();
  const name = p.identifier("a function name");
  const { params, directions } = p.params(name);
  p.end(`the prototype of ${name}`);
  return { name, line: 1, ret, params, directions };
}

/** Reads a koffi type string, e.g. a struct field's `"uint64_t"` or `"nexa_model_config"`. */
export function parseTypeName(text: string, file: string, names: PrototypeNames): CType {
  const p = new Parser(tokenize(text, 1), file, prototypeNames(names));
  const t = p.type();
  p.end(`the type ${render(t)}`);
  return t;
}

function prototypeNames(names: PrototypeNames): Map<string, Binding> {
  const map = scalarNames();
  for (const s of names.structs) map.set(s, { kind: "struct" });
  for (const o of names.opaque) map.set(o, { kind: "opaque" });
  for (const c of names.callbacks)
    map.set(c.name, { kind: "function", type: { kind: "function", ret: c.ret, params: c.params } });
  return map;
}

// ---- the description -------------------------------------------------------------------------------------------------

const alignUp = (n: number, a: number) => Math.ceil(n / a) * a;

/**
 * The header plus the probe's measurements. Every struct and field must have been measured, and the fields must tile
 * the struct the way C lays it out (each at the next offset its alignment allows, the size rounded to the struct's
 * alignment): a field the reader did not see would leave a gap.
 */
export function describe(header: CHeader, layout: MeasuredLayout): AbiDescription {
  const structs = header.structs.map((s) => {
    const m = layout[s.name];
    if (!m) throw new AbiError(`${header.file}:${s.line}: the layout probe did not measure ${s.name}`);
    let end = 0;
    let align = 1;
    const fields = s.fields.map((f) => {
      const mf = m.fields[f.name];
      if (!mf) throw new AbiError(`${header.file}:${f.line}: the layout probe did not measure ${s.name}.${f.name}`);
      const expected = alignUp(end, mf.align);
      if (mf.offset !== expected) {
        throw new AbiError(
          `${header.file}:${f.line}: ${s.name}.${f.name} is at offset ${mf.offset}, but the fields read before it end at ${end} (next aligned offset ${expected}): a declaration the reader did not see?`,
        );
      }
      end = mf.offset + mf.size;
      align = Math.max(align, mf.align);
      return { ...f, ...mf };
    });
    if (m.align !== align || m.size !== alignUp(end, align)) {
      throw new AbiError(
        `${header.file}:${s.line}: ${s.name} measures ${m.size} bytes aligned to ${m.align}, but its fields as read give ${alignUp(end, align)} aligned to ${align}`,
      );
    }
    const extra = Object.keys(m.fields).filter((f) => !s.fields.some((x) => x.name === f));
    if (extra.length > 0)
      throw new AbiError(
        `${header.file}:${s.line}: the probe measured unknown fields ${extra.join(", ")} of ${s.name}`,
      );
    return { ...s, size: m.size, align: m.align, fields };
  });
  const extra = Object.keys(layout).filter((n) => !header.structs.some((s) => s.name === n));
  if (extra.length > 0)
    throw new AbiError(`${header.file}: the probe measured structs the header does not declare: ${extra.join(", ")}`);
  return { ...header, structs };
}
