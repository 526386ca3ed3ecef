import { encodeRecord, isShardFileName, shardFileName, sortById } from "./index";

describe("text dataset naming and records", () => {
  it("names shards <split>-NNNNN.jsonl", () => {
    expect(shardFileName("train", 0)).toBe("train-00000.jsonl");
    expect(shardFileName("validation", 12)).toBe("validation-00012.jsonl");
    expect(isShardFileName("test-00003.jsonl")).toBe(true);
    expect(isShardFileName("train-3.jsonl")).toBe(false);
    expect(isShardFileName("dataset.json")).toBe(false);
  });

  it("writes id, the text field, source, then extra fields, as one line", () => {
    expect(encodeRecord({ id: "a", text: "x", source: "s" })).toBe('{"id":"a","text":"x","source":"s"}\n');
    expect(encodeRecord({ id: "a", text: "x", source: "s", extra: { provenance: { k: 1 } } }, "body")).toBe(
      '{"id":"a","body":"x","source":"s","provenance":{"k":1}}\n',
    );
  });

  it("sorts by the UTF-8 bytes of the ids, not by UTF-16 code units", () => {
    // U+FF21 (3 UTF-8 bytes, EF BC A1) sorts after U+1F600 (4 bytes, F0 ...) in UTF-16 order but before it in UTF-8.
    const ids = ["\u{1F600}", "\uFF21", "b", "a"];
    expect(sortById(ids.map((id) => ({ id }))).map((r) => r.id)).toEqual(["a", "b", "\uFF21", "\u{1F600}"]);
  });
});
