// The CI summary parser over real Bazel 4.2.3 output (testdata/), one recorded run per case.
import * as fs from "fs";
import * as path from "path";

const ws = path.join(
  process.env.RUNFILES_DIR ?? process.env.TEST_SRCDIR ?? "",
  process.env.TEST_WORKSPACE ?? "nexacompute",
);
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { parseBazelTest } = require(path.join(ws, "tools/ci/bazel_summary.js")) as {
  parseBazelTest(
    text: string,
    exitCode: number,
  ): { passed: number; failed: number; skipped: number; flaky: string[]; problems: string[] };
};

function recorded(name: string) {
  const text = fs.readFileSync(path.join(ws, "tools/ci/testdata", `${name}.txt`), "utf8");
  const rc = /^rc=(\d+)$/m.exec(text);
  if (!rc) throw new Error(`${name}.txt does not end with rc=N`);
  return parseBazelTest(text, Number(rc[1]));
}

describe("parseBazelTest over recorded Bazel 4.2.3 summaries", () => {
  it.each([
    // name, passed, failed, skipped (incompatible), problems matching
    ["all_pass", 2, 0, 0, []],
    ["cached", 2, 0, 0, []],
    ["test_fails", 1, 1, 0, [/\/\/:fail_test: FAILED/]],
    ["timed_out", 1, 1, 0, [/\/\/:timeout_test: TIMEOUT/]],
    ["flaky", 2, 0, 0, []],
    ["failed_to_build", 1, 1, 0, [/\/\/:broken_test: FAILED TO BUILD/]],
    ["no_status", 0, 2, 0, [/\/\/:waits_test: NO STATUS \(the test never ran\)/, /broken_test: FAILED TO BUILD/]],
    ["broken_non_test", 1, 1, 0, [/build failed outside the tests: .*genrule \/\/:broken_lib failed/]],
    ["incompatible_explicit", 1, 1, 0, [/not all targets were analyzed/]],
    ["keep_going_mixed", 3, 3, 1, [/broken_test: FAILED TO BUILD/, /timeout_test: TIMEOUT/, /fail_test: FAILED/]],
    ["terse_mixed", 4, 4, 0, [/broken_test/, /timeout_test/, /fail_test/, /1 skipped test\(s\) without a SKIPPED/]],
  ] as const)("%s: %i passed, %i failed, %i skipped", (name, passed, failed, skipped, problems) => {
    const r = recorded(name);
    expect([r.passed, r.failed, r.skipped]).toEqual([passed, failed, skipped]);
    expect(r.problems).toHaveLength(problems.length);
    problems.forEach((p, i) => expect(r.problems[i]).toMatch(p));
  });

  it("lists flaky tests that passed on a retry", () => {
    expect(recorded("flaky").flaky).toEqual(["//:flaky_test"]);
    expect(recorded("keep_going_mixed").flaky).toEqual(["//:flaky_test"]);
  });

  it("counts a log without a summary, and a non-zero exit with nothing failed, as failures", () => {
    expect(parseBazelTest("ERROR: Analysis of target '//x:y' failed; build aborted\n", 1)).toMatchObject({
      passed: 0,
      failed: 1,
      problems: [expect.stringMatching(/no Bazel test summary: Analysis of target/)],
    });
    expect(parseBazelTest("Executed 1 out of 1 test: 1 test passes.\n", 137)).toMatchObject({
      passed: 1,
      failed: 1,
      problems: ["bazel exited with 137 although every test passed"],
    });
  });
});
