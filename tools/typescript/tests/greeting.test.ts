import { Greeting } from "@nexa/tools/proto/tests/greeting";
import { makeGreeting, renderGreeting } from "./index";

describe("ts_project + ts_proto_library", () => {
  it("renders a generated proto message", () => {
    expect(renderGreeting(makeGreeting("nexa", 2))).toBe("hello, nexa (x2)");
  });

  it("round-trips through the generated binary and JSON codecs", () => {
    const g = makeGreeting("bazel", 3);
    expect(Greeting.decode(Greeting.encode(g).finish())).toEqual(g);
    expect(Greeting.fromJSON(Greeting.toJSON(g))).toEqual(g);
  });

  it("handles well-known types through ts-proto", () => {
    const g = Greeting.fromPartial({ name: "t", sentAt: new Date("2026-01-02T03:04:05Z") });
    const json = Greeting.toJSON(g) as Record<string, unknown>;
    expect(json.sentAt).toBe("2026-01-02T03:04:05.000Z");
  });

  it("rejects an empty name", () => {
    expect(() => makeGreeting("")).toThrow(/name is empty/);
  });
});
