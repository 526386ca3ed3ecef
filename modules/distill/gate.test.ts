// The completion gate: one reason per drop (first failing check wins), counts per reason, code-point lengths,
// whitespace-normalised dedupe that keeps the first occurrence.
import { CompletionGate, countCodePoints } from "./gate";

describe("CompletionGate", () => {
  it("drops for each reason in order and counts them", () => {
    const gate = new CompletionGate({ minChars: 3, maxChars: 10, dedupe: true, rejectPatterns: [/forbidden/u] });
    expect(gate.check("")).toBe("empty_completion");
    expect(gate.check("ab")).toBe("too_short");
    expect(gate.check("abcdefghijk")).toBe("too_long");
    expect(gate.check("forbidden")).toBe("reject_pattern");
    expect(gate.check("a  b\tc")).toBeUndefined();
    expect(gate.check(" a b c ")).toBe("duplicate");
    expect(gate.check("a b d")).toBeUndefined();
    expect(gate.drops).toEqual({ empty_completion: 1, too_short: 1, too_long: 1, reject_pattern: 1, duplicate: 1 });
  });

  it("keeps duplicates without dedupe and treats max_chars 0 as unlimited", () => {
    const gate = new CompletionGate({ minChars: 0, maxChars: 0, dedupe: false, rejectPatterns: [] });
    expect(gate.check("x".repeat(10_000))).toBeUndefined();
    expect(gate.check("x".repeat(10_000))).toBeUndefined();
    expect(gate.drops).toEqual({});
  });

  it("counts code points, not UTF-16 units", () => {
    expect(countCodePoints("日本")).toBe(2);
    expect(countCodePoints("🐋🐳a")).toBe(3);
    expect(countCodePoints("\uD800x")).toBe(2); // a lone surrogate counts as one
  });
});
