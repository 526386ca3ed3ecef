// Prompt drawing: whole characters at window ends, windows within the budget, templates, determinism and the
// prefix property (a larger max_examples only adds prompts after the ones drawn before).
import { Tokenizer } from "@nexa/kernels/binding";

import { planDistill } from "./config";
import { decodeWhole, drawPrompts } from "./prompts";
import type { TextRecord as SourceRecord } from "@nexa/modules/text_dataset";
import type { DistillConfig } from "@nexa/proto/nexa/v1/distill";

const records: SourceRecord[] = Array.from({ length: 30 }, (_, i) => ({
  id: `r${String(i).padStart(2, "0")}`,
  text:
    i === 4
      ? ""
      : Array.from({ length: 10 + i * 3 }, (_, j) => ["whale", "sea", "café", "日本", "ship"][(i + j) % 5]).join(" "),
  source: "s",
}));

const config = (over: Partial<DistillConfig> = {}): DistillConfig => ({
  schemaVersion: 1,
  teacher: {
    source: { $case: "checkpoint", value: { digest: "", sizeBytes: 0, mediaType: "", schemaName: "", path: "" } },
  },
  sampling: { temperature: 1, topP: 0, topK: 0, maxTokens: 12, seed: 5, n: 0 },
  promptTemplate: "",
  maxExamples: 0,
  concurrency: 0,
  ...over,
});

const where = { file: "c.json", stage: "distill" };

describe("prompts", () => {
  let tok: Tokenizer;
  beforeAll(() => {
    tok = Tokenizer.train(
      records.map((r) => r.text),
      { vocabSize: 300, specials: ["<|endoftext|>"] },
    );
  });
  afterAll(() => tok.free());

  it("decodes token bytes without partial characters at either end", () => {
    const bytes = Buffer.from("é日本x", "utf8");
    expect(decodeWhole(bytes)).toBe("é日本x");
    expect(decodeWhole(bytes.subarray(1))).toBe("日本x"); // starts inside é
    expect(decodeWhole(bytes.subarray(0, 4))).toBe("é"); // ends inside 日
    expect(decodeWhole(bytes.subarray(1, 2))).toBe("");
  });

  it("draws deterministic windows within the budget and skips empty records", () => {
    const plan = planDistill(config(), "c.json", "distill");
    const a = drawPrompts(records, plan, tok, 40, where);
    const b = drawPrompts(records, plan, tok, 40, where);
    expect(a).toEqual(b);
    expect(a.prompts.length).toBe(29);
    expect(a.emptyPrompts).toBe(1);
    expect(a.windowTokens).toBe(12);
    for (const p of a.prompts) {
      expect(p.tokens.length).toBeLessThanOrEqual(40 - 12);
      expect(p.record.text.includes(p.text)).toBe(true);
    }
    expect(a.prompts.map((p) => p.index)).toEqual(a.prompts.map((_, i) => i));
  });

  it("keeps earlier prompts when max_examples grows, and applies the template", () => {
    const small = drawPrompts(records, planDistill(config({ maxExamples: 5 }), "c.json", "distill"), tok, 40, where);
    const large = drawPrompts(records, planDistill(config({ maxExamples: 12 }), "c.json", "distill"), tok, 40, where);
    expect(large.prompts.slice(0, small.prompts.length)).toEqual(small.prompts);
    expect(large.prompts.length).toBe(12);
    const templated = drawPrompts(
      records,
      planDistill(config({ promptTemplate: "Tale: {text} |" }), "c.json", "distill"),
      tok,
      40,
      where,
    );
    for (const p of templated.prompts) expect(p.text).toMatch(/^Tale: [\s\S]+ \|$/);
  });

  it("rejects max_tokens that leave no room for a prompt", () => {
    const plan = planDistill(
      config({ sampling: { temperature: 0, topP: 1, topK: 0, maxTokens: 40, seed: 1, n: 1 } }),
      "c.json",
      "distill",
    );
    expect(() => drawPrompts(records, plan, tok, 40, where)).toThrow(/c\.json: \$\.sampling\.maxTokens: max_tokens 40/);
  });
});
