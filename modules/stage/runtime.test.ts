import { stageThreads, THREADS_ENV } from "./runtime";

describe("stageThreads (the one thread policy of every stage)", () => {
  it("uses NEXA_THREADS when set, else every available CPU", () => {
    expect(THREADS_ENV).toBe("NEXA_THREADS");
    expect(stageThreads({ NEXA_THREADS: "3" })).toBe(3);
    expect(stageThreads({})).toBeGreaterThanOrEqual(1);
    expect(stageThreads({ NEXA_THREADS: "" })).toBe(stageThreads({}));
  });

  it("refuses a value that is not a thread count, naming the variable and the fix", () => {
    for (const bad of ["0", "-1", "2.5", "four", "1025"]) {
      expect(() => stageThreads({ NEXA_THREADS: bad })).toThrow(
        expect.objectContaining({
          code: "STAGE_BAD_THREADS",
          hint: expect.stringContaining("integer from 1 to 1024"),
        }),
      );
    }
  });
});
