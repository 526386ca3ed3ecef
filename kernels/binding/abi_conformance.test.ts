// The binding's koffi declarations against nexa_kernels.h as the build read and measured it, and the proof that the
// check fails, naming the declaration, on a broken header (//kernels/abi:fixture_abi) and on broken declarations.

import fs from "fs";
import path from "path";
import koffi from "koffi";
import type { AbiDescription } from "@nexa/kernels/abi/c_abi";
import { BindingDeclarations, checkBinding, KoffiType, KoffiView } from "./abi_conformance";
import { GATE_REASONS, HISTOGRAM_BUCKETS, PAD_DOC_ID, TOKENIZER_FORMATS } from "./index";
import { ABI_VERSION, CALLBACKS, libraryPath, OPAQUE_TYPES, PROTOTYPES, Status, STRUCTS } from "./library";
import { IGNORE_TARGET, STOP_NONE, STOP_REASONS } from "./model";

const description = (file: string) =>
  JSON.parse(fs.readFileSync(path.join(__dirname, "..", "abi", file), "utf8")) as AbiDescription;
const header = description("nexa_kernels_abi.json");
const fixture = description("fixture_abi.json");
const H = header.file;
const F = fixture.file;
const LIB = "kernels/binding/library.ts";

const binding: BindingDeclarations = {
  file: LIB,
  opaque: OPAQUE_TYPES,
  structs: STRUCTS,
  callbacks: CALLBACKS,
  prototypes: PROTOTYPES,
};

const library = koffi.load(libraryPath());
const koffiView: KoffiView = {
  type: (name) => {
    try {
      return koffi.type(name) as unknown as KoffiType;
    } catch {
      return undefined;
    }
  },
  prototype: (text) => library.func(text).info as unknown as ReturnType<KoffiView["prototype"]>,
};

/** The header line of a declaration (the messages name file:line). */
const line = (d: AbiDescription, name: string, field?: string): string => {
  const s = d.structs.find((x) => x.name === name);
  const l = field
    ? s?.fields.find((f) => f.name === field)?.line
    : (s?.line ?? d.functions.find((f) => f.name === name)?.line);
  if (l === undefined) throw new Error(`${name}${field ? "." + field : ""} is not in ${d.file}`);
  return `${d.file}:${l}`;
};

describe("the binding against nexa_kernels.h", () => {
  it("declares every function, struct, callback and handle as the header does, and koffi reads them so", () => {
    expect(checkBinding(header, binding, koffiView)).toEqual([]);
  });

  it("is held to the whole header", () => {
    expect(Object.keys(PROTOTYPES).sort()).toEqual(header.functions.map((f) => f.name).sort());
    expect(Object.keys(STRUCTS).sort()).toEqual(header.structs.map((s) => s.name).sort());
    expect(header.functions.length).toBeGreaterThanOrEqual(46);
  });
});

describe("the check fails, naming what differs", () => {
  it("on the fixture header: a field type, a field that moves the layout, an argument type", () => {
    expect(checkBinding(fixture, binding, koffiView)).toEqual([
      `${line(fixture, "nexa_pack_stats", "fill_ratio")}: field nexa_pack_stats.fill_ratio is uint64_t in the header, but double in ${LIB}`,
      `${line(fixture, "nexa_pack_stats", "fill_ratio")}: koffi reads field nexa_pack_stats.fill_ratio as double (Float64, 8 bytes), not uint64_t`,
      `${line(fixture, "nexa_generate_options", "top_k")}: field nexa_generate_options.top_k is uint64_t in the header, but uint32_t in ${LIB}`,
      `${line(fixture, "nexa_generate_options")}: struct nexa_generate_options is 40 bytes aligned to 8 in C, but koffi lays it out in 32 bytes aligned to 8`,
      `${line(fixture, "nexa_generate_options", "top_k")}: field nexa_generate_options.top_k is at offset 8 in C, but at 4 in koffi`,
      `${line(fixture, "nexa_generate_options", "top_k")}: koffi reads field nexa_generate_options.top_k as uint32_t (UInt32, 4 bytes), not uint64_t`,
      `${line(fixture, "nexa_generate_options", "temperature")}: field nexa_generate_options.temperature is at offset 16 in C, but at 8 in koffi`,
      `${line(fixture, "nexa_generate_options", "top_p")}: field nexa_generate_options.top_p is at offset 24 in C, but at 16 in koffi`,
      `${line(fixture, "nexa_generate_options", "seed")}: field nexa_generate_options.seed is at offset 32 in C, but at 24 in koffi`,
      `${line(fixture, "nexa_shuffle_fill")}: function nexa_shuffle_fill argument 2 (seed) is uint32_t in the header, but uint64_t in ${LIB}`,
    ]);
    expect(F).toBe("kernels/abi/fixture_nexa_kernels.h");
  });

  it("on a prototype with one argument type changed, or renamed, or dropped", () => {
    const broken = (name: keyof typeof PROTOTYPES, from: string, to: string) => {
      expect(PROTOTYPES[name]).toContain(from);
      return checkBinding(
        header,
        { ...binding, prototypes: { ...PROTOTYPES, [name]: PROTOTYPES[name].replace(from, to) } },
        koffiView,
      );
    };
    expect(broken("nexa_gate_counts", "size_t len", "uint32_t len")).toEqual([
      `${line(header, "nexa_gate_counts")}: function nexa_gate_counts argument 3 (len) is size_t in the header, but uint32_t in ${LIB}`,
    ]);
    expect(broken("nexa_model_save", "const nexa_model *model", "nexa_model *model")).toEqual([
      `${line(header, "nexa_model_save")}: function nexa_model_save argument 1 (model) is const nexa_model * in the header, but nexa_model * in ${LIB}`,
    ]);
    expect(broken("nexa_shuffle_fill", "uint64_t n, uint64_t seed", "uint64_t seed, uint64_t n")).toEqual([
      `${line(header, "nexa_shuffle_fill")}: function nexa_shuffle_fill argument 1 is named n in the header, but seed in ${LIB}`,
      `${line(header, "nexa_shuffle_fill")}: function nexa_shuffle_fill argument 2 is named seed in the header, but n in ${LIB}`,
    ]);
    expect(broken("nexa_stats_merge_counts", ", size_t len)", ")")).toEqual([
      `${line(header, "nexa_stats_merge_counts")}: function nexa_stats_merge_counts takes 3 arguments in the header, but 2 in ${LIB}: int32_t nexa_stats_merge_counts(uint64_t *total, const uint64_t *shard)`,
    ]);
    expect(broken("nexa_abi_version", "uint32_t nexa_abi_version", "uint64_t nexa_abi_version")).toEqual([
      `${line(header, "nexa_abi_version")}: function nexa_abi_version returns uint32_t in the header, but uint64_t in ${LIB}`,
    ]);
    expect(broken("nexa_gate_counts", "uint64_t *out", "unsigned long *out")).toEqual([
      `${LIB}: PROTOTYPES.nexa_gate_counts: type "unsigned": the ABI uses <stdint.h> fixed-width integers, size_t, float, double, char, void and its own typedefs`,
    ]);
  });

  it("on a missing or extra prototype, with the line to add", () => {
    const { nexa_pack_shard_bins: _dropped, ...rest } = PROTOTYPES;
    expect(
      checkBinding(
        header,
        { ...binding, prototypes: { ...rest, nexa_pack_extra: "void nexa_pack_extra(void)" } },
        koffiView,
      ),
    ).toEqual([
      `${line(header, "nexa_pack_shard_bins")}: nexa_pack_shard_bins has no prototype in PROTOTYPES of ${LIB}: add ` +
        `"int32_t nexa_pack_shard_bins(const nexa_pack_plan *plan, uint64_t shard, uint64_t num_shards, uint64_t *first_bin, uint64_t *n_bins)" (mark single-value outputs _Out_)`,
      `${LIB}: PROTOTYPES has nexa_pack_extra, which ${H} does not declare`,
    ]);
  });

  it("on a koffi struct with a field of another type, a missing field, or fields swapped", () => {
    const withStruct = (name: string, fields: Record<string, string>) => {
      const structs = { ...STRUCTS, [name]: fields };
      const view: KoffiView = {
        ...koffiView,
        type: (n) => (n === name ? (koffi.struct(fields) as unknown as KoffiType) : koffiView.type(n)),
      };
      return checkBinding(header, { ...binding, structs }, view);
    };
    expect(withStruct("nexa_eval_result", { ...STRUCTS.nexa_eval_result, count: "double" })).toEqual([
      `${line(header, "nexa_eval_result", "count")}: field nexa_eval_result.count is uint64_t in the header, but double in ${LIB}`,
      `${line(header, "nexa_eval_result", "count")}: koffi reads field nexa_eval_result.count as double (Float64, 8 bytes), not uint64_t`,
    ]);
    const { threads: _threads, ...noThreads } = STRUCTS.nexa_model_info;
    expect(withStruct("nexa_model_info", noThreads)).toEqual([
      `${line(header, "nexa_model_info", "threads")}: field nexa_model_info.threads is missing in STRUCTS.nexa_model_info of ${LIB}`,
      `${line(header, "nexa_model_info")}: struct nexa_model_info is 64 bytes aligned to 8 in C, but koffi lays it out in 56 bytes aligned to 8`,
    ]);
    const { loss, loss_sum, count } = STRUCTS.nexa_eval_result;
    expect(withStruct("nexa_eval_result", { loss_sum, loss, count })).toEqual([
      `${line(header, "nexa_eval_result")}: the fields of nexa_eval_result are in the order loss, loss_sum, count in the header, but loss_sum, loss, count in ${LIB}`,
      `${line(header, "nexa_eval_result", "loss")}: field nexa_eval_result.loss is at offset 0 in C, but at 8 in koffi`,
      `${line(header, "nexa_eval_result", "loss_sum")}: field nexa_eval_result.loss_sum is at offset 8 in C, but at 0 in koffi`,
    ]);
  });

  it("on koffi reading a prototype otherwise than the checker (kind, size or direction of an argument)", () => {
    const view: KoffiView = {
      ...koffiView,
      prototype: (text) => {
        const info = koffiView.prototype(text);
        if (!text.includes("nexa_tokenizer_vocab_size(")) return info;
        return { ...info, arguments: [info.arguments[0], { type: koffiView.type("uint32_t")!, direction: "Input" }] };
      },
    };
    expect(checkBinding(header, binding, view)).toEqual([
      `${line(header, "nexa_tokenizer_vocab_size")}: koffi reads nexa_tokenizer_vocab_size argument 2 (out) as uint32_t (UInt32, 4 bytes), not uint32_t *`,
      `${line(header, "nexa_tokenizer_vocab_size")}: koffi passes nexa_tokenizer_vocab_size argument 2 (out) as Input, the prototype says Output`,
    ]);
  });

  it("on a missing handle, callback or struct, with the declaration to add", () => {
    const { nexa_progress_fn: _cb, ...noCallbacks } = CALLBACKS;
    const { nexa_pack_stats: _s, ...noPackStats } = STRUCTS;
    const problems = checkBinding(
      header,
      {
        ...binding,
        opaque: OPAQUE_TYPES.filter((o) => o !== "nexa_gate"),
        callbacks: noCallbacks,
        structs: noPackStats,
      },
      koffiView,
    );
    expect(problems).toContain(
      `${H}:${header.opaque.find((o) => o.name === "nexa_gate")!.line}: handle nexa_gate is not in OPAQUE_TYPES of ${LIB}`,
    );
    expect(problems).toContain(
      `${H}:${header.callbacks[0].line}: callback nexa_progress_fn has no koffi.proto in CALLBACKS of ${LIB}: add ` +
        `"void nexa_progress_fn(void *user, uint64_t step, double loss, double lr, double grad_norm, uint64_t tokens)"`,
    );
    expect(problems).toContain(
      `${line(header, "nexa_pack_stats")}: struct nexa_pack_stats has no koffi struct in STRUCTS of ${LIB}: add nexa_pack_stats: ` +
        `{ docs: "uint64_t", empty_docs: "uint64_t", total_tokens: "uint64_t", bins: "uint64_t", lower_bound_bins: "uint64_t", segments: "uint64_t", ` +
        `truncated_docs: "uint64_t", padding_tokens: "uint64_t", fill_ratio: "double" }`,
    );
  });
});

// ---- constants ---------------------------------------------------------------------------------------------------

/** The binding's copy of each header constant, by family; undefined when the binding has none. */
function mirrored(name: string): number | undefined {
  const lower = (prefix: string) => name.slice(prefix.length).toLowerCase();
  const singles: Record<string, number> = {
    NEXA_ABI_VERSION: ABI_VERSION,
    NEXA_PACK_PAD_DOC_ID: PAD_DOC_ID,
    NEXA_HISTOGRAM_BUCKETS: HISTOGRAM_BUCKETS,
    NEXA_MODEL_IGNORE: IGNORE_TARGET,
    NEXA_STOP_NONE: STOP_NONE,
    NEXA_GATE_REASON_COUNT: GATE_REASONS.length,
  };
  if (name in singles) return singles[name];
  if (name === "NEXA_OK" || name.startsWith("NEXA_ERR_"))
    return (Status as Record<string, number>)[name === "NEXA_OK" ? "OK" : name.slice("NEXA_ERR_".length)];
  const index = (list: readonly string[], prefix: string) =>
    list.indexOf(lower(prefix)) >= 0 ? list.indexOf(lower(prefix)) : undefined;
  if (name.startsWith("NEXA_GATE_")) return index(GATE_REASONS, "NEXA_GATE_");
  if (name.startsWith("NEXA_STOP_")) return index(STOP_REASONS, "NEXA_STOP_");
  if (name.startsWith("NEXA_FORMAT_")) return (TOKENIZER_FORMATS as Record<string, number>)[lower("NEXA_FORMAT_")];
  return undefined;
}

describe("constants the binding mirrors", () => {
  it("every #define of the header has its value in the binding (Status, ABI_VERSION, reason and format codes, …)", () => {
    const problems = header.constants
      .map((c) => ({ c, v: mirrored(c.name) }))
      .filter(({ c, v }) => v !== c.value)
      .map(
        ({ c, v }) =>
          `${H}:${c.line}: ${c.name} is ${c.value}, the binding ${v === undefined ? "has no copy (add one, and a rule in abi_conformance.test.ts)" : `says ${v}`}`,
      );
    expect(problems).toEqual([]);
    expect(header.constants.length).toBeGreaterThanOrEqual(28);
    expect(Object.keys(Status).length).toBe(
      header.constants.filter((c) => c.name === "NEXA_OK" || c.name.startsWith("NEXA_ERR_")).length,
    );
  });
});
