import { applyOverrides, overrideValue, parseFieldOverride, parseStageOverride } from "./overrides";

describe("overrides", () => {
  it("parse stage.field=value and field=value", () => {
    expect(parseStageOverride("train.optimizer.lr=0.01")).toEqual({
      stage: "train",
      field: "optimizer.lr",
      value: "0.01",
    });
    expect(parseStageOverride("train.name=a=b")).toEqual({ stage: "train", field: "name", value: "a=b" });
    expect(parseFieldOverride("sources.0.path=x")).toEqual({ field: "sources.0.path", value: "x" });
    for (const bad of ["train", "train=3", ".steps=3", "train.=3", "train.steps", "train.a..b=1", "train.steps=1,2"])
      expect(() => parseStageOverride(bad)).toThrow(expect.objectContaining({ code: "CONFIG_BAD_OVERRIDE" }));
  });

  it("values are JSON literals, else strings", () => {
    expect(overrideValue("3")).toBe(3);
    expect(overrideValue("true")).toBe(true);
    expect(overrideValue('"3"')).toBe("3");
    expect(overrideValue("[1]")).toEqual([1]);
    expect(overrideValue("adamw")).toBe("adamw");
  });

  it("apply in order, creating objects, keeping snake_case keys in place, indexing lists", () => {
    const config = { steps: 1, model_shape: { d: 1 }, sources: [{ path: "a" }] };
    const out = applyOverrides(
      config,
      [
        { field: "steps", value: "5" },
        { field: "model_shape.d", value: "2" },
        { field: "optimizer.lr", value: "0.5" },
        { field: "eval_interval", value: "4" },
        { field: "sources.0.path", value: "b" },
        { field: "steps", value: "6" },
      ],
      "c.json",
    );
    expect(out).toEqual({
      steps: 6,
      model_shape: { d: 2 },
      optimizer: { lr: 0.5 },
      evalInterval: 4,
      sources: [{ path: "b" }],
    });
    expect(config.steps).toBe(1); // the input is not changed
    expect(() => applyOverrides(config, [{ field: "sources.3.path", value: "x" }], "c.json")).toThrow(/no element 3/);
    expect(() => applyOverrides(config, [{ field: "steps.x", value: "1" }], "c.json")).toThrow(
      /steps is not an object/,
    );
  });
});
