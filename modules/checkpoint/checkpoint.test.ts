import { parseCurve } from "./index";

describe("parseCurve", () => {
  it("reads step, loss, lr and val_loss and ignores other keys", () => {
    const text = '{"step":1,"loss":4.5,"lr":0.001}\n{"step":2,"loss":4,"val_loss":4.2,"grad_norm":1}\n';
    expect(parseCurve(text, "metrics.jsonl")).toEqual([
      { step: 1, loss: 4.5, lr: 0.001 },
      { step: 2, loss: 4, valLoss: 4.2 },
    ]);
    expect(parseCurve("", "metrics.jsonl")).toEqual([]);
  });

  it("names the file, line and field of a bad line", () => {
    expect(() => parseCurve('{"step":1}\n{"step":"2"}\n', "metrics.jsonl")).toThrow(
      expect.objectContaining({
        code: "ARTIFACT_SCHEMA",
        context: expect.objectContaining({ file: "metrics.jsonl", line: 2, jsonPath: "$.step" }),
      }),
    );
    expect(() => parseCurve("{not json\n", "metrics.jsonl")).toThrow(
      expect.objectContaining({ context: expect.objectContaining({ line: 1 }) }),
    );
    expect(() => parseCurve('{"step":1,"loss":null,"val_loss":"x"}\n', "m")).toThrow(
      /field "val_loss" must be a finite number/,
    );
  });
});
