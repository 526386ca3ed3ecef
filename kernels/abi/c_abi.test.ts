// The ABI reader: what it accepts and refuses (with file:line), the canonical spelling, the description of the real
// header as the build made it, and the deliberately broken fixture header.

import fs from "fs";
import path from "path";
import { probeSource, rustSource, rustType } from "./abi_codegen";
import {
  AbiDescription,
  AbiError,
  CType,
  describe as describeLayout,
  MeasuredLayout,
  parseHeader,
  parsePrototype,
  render,
  renderFunction,
} from "./c_abi";

const here = (f: string) => path.join(__dirname, f);
const HEADER = fs.readFileSync(here("nexa_kernels.h"), "utf8");
const description = JSON.parse(fs.readFileSync(here("nexa_kernels_abi.json"), "utf8")) as AbiDescription;
const fixture = JSON.parse(fs.readFileSync(here("fixture_abi.json"), "utf8")) as AbiDescription;

/** A header around `body`, as the ABI header is written. */
const wrap = (body: string) => `#ifndef X_H\n#define X_H\n#include <stdint.h>\n${body}\n#endif\n`;
const parseBody = (body: string) => parseHeader(wrap(body), "x.h");
const refusal = (body: string): string => {
  try {
    parseBody(body);
  } catch (e) {
    if (e instanceof AbiError) return e.message;
    throw e;
  }
  throw new Error(`accepted: ${body}`);
};

describe("the real header", () => {
  const h = parseHeader(HEADER, "kernels/abi/nexa_kernels.h");

  it("yields every function a plain scan of the text finds, and the structs, handles and callback", () => {
    const code = HEADER.replace(/\/\*[\s\S]*?\*\//g, "");
    const scanned = [...new Set([...code.matchAll(/\b(nexa_[a-z0-9_]+)\s*\(/g)].map((m) => m[1]))].filter(
      (n) => n !== "nexa_progress_fn",
    );
    expect(h.functions.map((f) => f.name).sort()).toEqual(scanned.sort());
    expect(h.functions.length).toBeGreaterThanOrEqual(46);
    expect(h.structs.map((s) => s.name)).toEqual([
      "nexa_gate_config",
      "nexa_pack_stats",
      "nexa_length_stats",
      "nexa_model_config",
      "nexa_train_config",
      "nexa_model_info",
      "nexa_step_metrics",
      "nexa_eval_result",
      "nexa_generate_options",
    ]);
    expect(h.opaque.map((o) => o.name)).toEqual([
      "nexa_tokenizer",
      "nexa_gate",
      "nexa_pack_plan",
      "nexa_model",
      "nexa_decoder",
    ]);
    expect(h.callbacks.map((c) => renderFunction(c))).toEqual([
      "void nexa_progress_fn(void *user, uint64_t step, double loss, double lr, double grad_norm, uint64_t tokens)",
    ]);
    expect(h.constants.find((c) => c.name === "NEXA_ABI_VERSION")?.value).toBe(9);
    expect(h.constants.find((c) => c.name === "NEXA_PACK_PAD_DOC_ID")?.value).toBe(0xffffffff);
  });

  it("resolves typedefs: nexa_status is int32_t, a callback argument is its function pointer", () => {
    const f = h.functions.find((x) => x.name === "nexa_model_train_steps")!;
    expect(render(f.ret)).toBe("int32_t");
    expect(render(f.params.find((p) => p.name === "progress")!.type)).toBe(
      "void (*)(void *, uint64_t, double, double, double, uint64_t)",
    );
    expect(renderFunction(h.functions.find((x) => x.name === "nexa_last_error")!)).toBe(
      "const char *nexa_last_error(void)",
    );
  });

  it("is described by the build with the layout the C compiler measured", () => {
    expect(description.file).toBe("kernels/abi/nexa_kernels.h");
    expect(description.functions).toEqual(h.functions);
    const info = description.structs.find((s) => s.name === "nexa_model_info")!;
    expect([info.size, info.align]).toEqual([64, 8]);
    expect(info.fields.map((f) => [f.name, f.offset, f.size])).toEqual([
      ["config", 0, 20],
      ["num_params", 24, 8],
      ["step", 32, 8],
      ["rows_seen", 40, 8],
      ["tokens_seen", 48, 8],
      ["threads", 56, 4],
    ]);
    expect(render(info.fields[0].type)).toBe("nexa_model_config");
  });
});

describe("the fixture header (FIXTURE_CHANGES in BUILD.bazel)", () => {
  it("differs from the real one in exactly the three changed declarations", () => {
    const types = (d: AbiDescription) => [
      ...d.structs.flatMap((s) => s.fields.map((f) => `${s.name}.${f.name}: ${render(f.type)} @${f.offset}`)),
      ...d.structs.map((s) => `${s.name}: ${s.size}/${s.align}`),
      ...d.functions.map((f) => renderFunction(f)),
    ];
    const real = new Set(types(description));
    expect(types(fixture).filter((t) => !real.has(t))).toEqual([
      "nexa_pack_stats.fill_ratio: uint64_t @64",
      "nexa_generate_options.top_k: uint64_t @8",
      "nexa_generate_options.temperature: double @16",
      "nexa_generate_options.top_p: double @24",
      "nexa_generate_options.seed: uint64_t @32",
      "nexa_generate_options: 40/8",
      "int32_t nexa_shuffle_fill(uint64_t n, uint32_t seed, uint64_t start, uint64_t *out, size_t count)",
    ]);
  });
});

describe("spelling", () => {
  const name = (n: string, isConst = false): CType => ({ kind: "name", name: n, const: isConst });
  const ptr = (to: CType, isConst = false): CType => ({ kind: "pointer", to, const: isConst });

  it.each<[string, CType]>([
    ["uint64_t", name("uint64_t")],
    ["const uint8_t *", ptr(name("uint8_t", true))],
    ["nexa_gate **", ptr(ptr(name("nexa_gate")))],
    ["char *const *", ptr(ptr(name("char"), true))],
    [
      "void (*)(void *)",
      ptr({ kind: "function", ret: name("void"), params: [{ name: "u", type: ptr(name("void")) }] }),
    ],
    ["const char *(*)(void)", ptr({ kind: "function", ret: ptr(name("char", true)), params: [] })],
  ])("spells %s", (spelled, t) => {
    expect(render(t)).toBe(spelled);
  });

  it("maps C types to the Rust types of abi_view.rs", () => {
    expect(rustType(ptr(name("uint8_t", true)))).toBe("*const c::uint8_t");
    expect(rustType(ptr(ptr(name("nexa_gate"))))).toBe("*mut *mut c::nexa_gate");
    expect(rustType(name("void"), "return")).toBe("()");
    expect(
      rustType(ptr({ kind: "function", ret: name("void"), params: [{ name: "u", type: ptr(name("void")) }] })),
    ).toBe('Option<unsafe extern "C" fn(*mut c::void)>');
  });
});

describe("declarations the reader refuses, naming the line", () => {
  it.each([
    ["uint32_t f(unsigned int x);", /x\.h:4: type "unsigned": the ABI uses <stdint.h>/],
    ["uint32_t f(nexa_thing *x);", /x\.h:4: unknown type "nexa_thing"/],
    ["typedef struct s { uint8_t name[16]; } s;", /x\.h:4: s\.name is an array/],
    ["typedef struct s { uint32_t flag : 1; } s;", /x\.h:4: s\.flag is a bit-field/],
    ["typedef struct s { uint32_t a, b; } s;", /x\.h:4: s: declare one field per declaration/],
    ["typedef struct s { uint32_t a; } t;", /x\.h:4: typedef struct s \{…\} t: the tag and the name must be the same/],
    ["uint32_t f(void (*cb)(void));", /x\.h:4: f: a function pointer written inline; typedef it/],
    ["uint32_t f(uint32_t);", /x\.h:4: f: argument 1 has no name/],
    ["uint32_t f();", /x\.h:4: f\(\) has an empty parameter list: write \(void\)/],
    ["uint32_t f(struct s *x);", /x\.h:4: "struct s" as a type: use the struct's typedef name/],
    ["uint32_t f(void);\nuint32_t f(void);", /x\.h:5: function f is declared twice/],
    ["uint32_t x;", /x\.h:4: "x" is not a function declaration/],
    ["uint32_t f(void)", /x\.h:4: declaration without a closing ";"/],
    ["#if 1\n#endif", /x\.h:4: #if is not accepted in the ABI header/],
    ["#define MAX(a, b) a", /x\.h:4: #define MAX\(a, b\) a: names are UPPER_CASE and macros take no arguments/],
    ["#define LIMIT (1u << 3)", /x\.h:4: #define LIMIT \(1u << 3\): constants are integer literals/],
    ['#include "other.h"', /x\.h:4: #include "other.h": the ABI header includes only system headers/],
  ])("%s", (body, message) => {
    expect(refusal(body)).toMatch(message);
  });

  it("accepts what the header is written in", () => {
    const h = parseBody(
      [
        "#define N 7u",
        "typedef int32_t st;",
        "typedef struct h h;",
        "typedef struct s { uint64_t a; const uint8_t *p; } s;",
        "typedef void (*cb)(void *user, uint64_t n);",
        "st f(const s *in, h **out, cb progress, const uint64_t k);",
      ].join("\n"),
    );
    expect(renderFunction(h.functions[0])).toBe(
      "int32_t f(const s *in, h **out, void (*progress)(void *, uint64_t), uint64_t k)",
    );
    expect(h.constants).toEqual([{ name: "N", value: 7, line: 4 }]);
  });
});

describe("koffi prototypes", () => {
  const names = {
    structs: ["s"],
    opaque: ["h"],
    callbacks: [parsePrototype("void cb(void *user, uint64_t n)", "p", { structs: [], opaque: [], callbacks: [] })],
  };

  it("read direction markers and callbacks used through a pointer", () => {
    const f = parsePrototype("int32_t f(const s *in, _Out_ h **out, cb *progress, _Inout_ uint64_t *n)", "p", names);
    expect(renderFunction(f)).toBe("int32_t f(const s *in, h **out, void (*progress)(void *, uint64_t), uint64_t *n)");
    expect(f.directions).toEqual(["in", "out", "in", "inout"]);
  });

  it("refuse an output marker on const data and a callback used by value", () => {
    expect(() => parsePrototype("int32_t f(_Out_ const uint8_t *x)", "p", names)).toThrow(
      /argument x is marked _Out_ but points to const data/,
    );
    expect(() => parsePrototype("int32_t f(cb progress)", "p", names)).toThrow(
      /the function type "cb" is used without "\*"/,
    );
  });
});

describe("the description step", () => {
  const h = parseBody("typedef struct s { uint32_t a; uint64_t b; } s;\nuint32_t f(void);");
  const layout = (bOffset: number): MeasuredLayout => ({
    s: {
      size: 16,
      align: 8,
      fields: { a: { offset: 0, size: 4, align: 4 }, b: { offset: bOffset, size: 8, align: 8 } },
    },
  });

  it("accepts fields that tile the struct as C lays it out", () => {
    expect(describeLayout(h, layout(8)).structs[0].fields.map((f) => f.offset)).toEqual([0, 8]);
  });

  it("refuses a gap (a field the reader did not see) and an unmeasured struct", () => {
    expect(() => describeLayout(h, layout(16))).toThrow(
      /x\.h:4: s\.b is at offset 16, but the fields read before it end at 4/,
    );
    expect(() => describeLayout(h, {})).toThrow(/x\.h:4: the layout probe did not measure s/);
  });
});

describe("generated sources", () => {
  it("the probe asserts every declaration and prints every struct", () => {
    const probe = probeSource(HEADER, "kernels/abi/nexa_kernels.h", "kernels/abi/nexa_kernels.h");
    for (const f of description.functions) expect(probe).toContain(`__typeof__(&${f.name})`);
    for (const s of description.structs) {
      expect(probe).toContain(`sizeof(${s.name}), _Alignof(${s.name})`);
      for (const f of s.fields) expect(probe).toContain(`offsetof(${s.name}, ${f.name})`);
    }
  });

  it("the Rust entries name every function and field", () => {
    const rust = rustSource(description, "kernels/abi/nexa_kernels_abi.json");
    expect(rust).toBe(fs.readFileSync(here("nexa_kernels_abi_view.rs"), "utf8"));
    for (const f of description.functions) expect(rust).toContain(`signature(${f.name} as unsafe extern "C" fn(`);
    for (const s of description.structs)
      for (const f of s.fields) expect(rust).toContain(`std::mem::offset_of!(c::${s.name}, ${f.name})`);
  });
});
