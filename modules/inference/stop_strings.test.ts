// Stop strings over token-sized pieces: found across piece boundaries, held back only while they could still
// match, released at the end.

import { StopMatcher } from "./stop_strings";

function run(stops: string[], pieces: string[]): { out: string[]; stopped: boolean; tail: string } {
  const m = new StopMatcher(stops);
  const out: string[] = [];
  for (const p of pieces) {
    const r = m.push(p);
    out.push(r.emit);
    if (r.stopped) return { out, stopped: true, tail: m.flush() };
  }
  return { out, stopped: false, tail: m.flush() };
}

describe("StopMatcher", () => {
  it("finds a stop string spanning three pieces and emits only what precedes it", () => {
    const r = run(["END"], ["abc E", "N", "Dxyz"]);
    expect(r).toEqual({ out: ["abc ", "", ""], stopped: true, tail: "" });
  });

  it("holds back a possible start and releases it when the next piece rules it out", () => {
    expect(run(["END"], ["abE", "x", "EN"])).toEqual({ out: ["ab", "Ex", ""], stopped: false, tail: "EN" });
  });

  it("the earliest of several stop strings wins, within one piece too", () => {
    expect(run(["bb", "a"], ["xxbbya"]).out).toEqual(["xx"]);
    expect(run(["\n\n", "User:"], ["hi\n", "\nUser:"]).out).toEqual(["hi", ""]);
  });

  it("with no stop strings everything passes at once", () => {
    expect(run([], ["a", "b"])).toEqual({ out: ["a", "b"], stopped: false, tail: "" });
  });

  it("a held-back suffix that is a prefix of a longer stop string (overlapping prefixes)", () => {
    expect(run(["aab"], ["xa", "a", "a", "b"])).toEqual({ out: ["x", "", "a", ""], stopped: true, tail: "" });
  });
});
