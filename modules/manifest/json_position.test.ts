// The JSON syntax scanner agrees with JSON.parse on what is valid and points at the first bad character.
import { describeOffset, jsonErrorOffset, lineColumn } from "./json_position";

describe("jsonErrorOffset", () => {
  it("accepts what JSON.parse accepts", () => {
    for (const ok of [
      '{"a":1}',
      ' [1, -2.5e+3, "x\\u00e9\\n", true, false, null, {}] ',
      '"s"',
      "0",
      '{"a":{"b":[[]]}}',
    ]) {
      expect(() => JSON.parse(ok)).not.toThrow();
      expect(jsonErrorOffset(ok)).toBe(-1);
    }
  });

  it.each([
    ['{"a":}', 5],
    ['{"a":1', 6],
    ['{"a" 1}', 5],
    ["{a:1}", 1],
    ['{"a":tru}', 8],
    ['{"a":"x\\q"}', 8],
    ['{"a":1}x', 7],
    ["", 0],
    ['{"a":01}', 6],
    ['{"a":[1,2,]}', 10],
    ['{"a":"\\u00g1"}', 10],
    ['{"a":"tab\there"}', 9],
  ])("%j fails at offset %i", (text, offset) => {
    expect(() => JSON.parse(text)).toThrow();
    expect(jsonErrorOffset(text)).toBe(offset);
  });

  it("reports 1-based line and column, and what it found", () => {
    const text = '{\n  "a": 1,\n  "b": ]\n}';
    const offset = jsonErrorOffset(text);
    expect(lineColumn(text, offset)).toEqual({ line: 3, column: 8 });
    expect(describeOffset(text, offset)).toBe('unexpected "]"');
    expect(describeOffset("{", jsonErrorOffset("{"))).toBe("unexpected end of input");
  });
});
