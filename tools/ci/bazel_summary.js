#!/usr/bin/env node
// Counts what really happened in the output of `bazel test` (Bazel 4.2.3 wording), for CI's final "N passed,
// N failed" line. Plain Node (no build step), so it works even when the build it reports on is broken.
//
//   node tools/ci/bazel_summary.js LOG EXIT_CODE   ->  stdout "passed=N failed=M", one stderr line per problem
//
// Bazel's own line ("Executed 2 out of 7 tests: 3 tests pass, 1 fails to build, 2 fail locally and 1 was
// skipped.") hides what CI must not: it folds NO STATUS (never ran) into "skipped", and says nothing of a non-test
// target that failed under --keep_going. So, with per-target lines from --test_summary=short (or terse):
//   - PASSED and FLAKY (passed on a retry; listed) count as passed;
//   - FAILED, TIMEOUT, FAILED TO BUILD, INCOMPLETE, REMOTE FAILURE, NO STATUS count as failed;
//   - SKIPPED (a target incompatible with the platform, e.g. CUDA without a toolkit) is expected: not counted;
//   - skips in the summary line without a SKIPPED line of their own count as failed (never ran, reason unknown);
//   - a failed build that no test status explains (a broken library, an analysis error) counts as one failure;
//   - no summary at all, or a non-zero exit with nothing failed, counts as one failure.
"use strict";

const STATUS =
  /^(\/\/\S+|@\S+)\s+(?:\((?:cached|\d+\/\d+ cached)\)\s+)?(PASSED|FLAKY|TIMEOUT|FAILED TO BUILD|FAILED|NO STATUS|SKIPPED|INCOMPLETE|REMOTE FAILURE|BUILD INTERRUPTED)\b/;
const SUMMARY = /^Executed (\d+) out of (\d+) tests?: (.*)$/;
const FAILED_STATUSES = new Set([
  "TIMEOUT",
  "FAILED TO BUILD",
  "FAILED",
  "NO STATUS",
  "INCOMPLETE",
  "REMOTE FAILURE",
  "BUILD INTERRUPTED",
]);

/** Counts from Bazel's "Executed …" line (null when there is none). */
function summaryCounts(line) {
  const m = SUMMARY.exec(line);
  if (!m) return null;
  const count = (re) => {
    const x = re.exec(m[3]);
    return x ? Number(x[1]) : 0;
  };
  return {
    pass: count(/(\d+) tests? pass/),
    failToBuild: count(/(\d+) fails? to build/),
    failLocally: count(/(\d+) fails? locally/),
    failRemotely: count(/(\d+) fails? remotely/),
    skipped: count(/(\d+) (?:was|were) skipped/),
  };
}

/**
 * Parses the combined stdout/stderr of one `bazel test` run and its exit code.
 * Returns { passed, failed, skipped, flaky, problems }: `problems` names every failure and why it counts.
 */
function parseBazelTest(text, exitCode) {
  const lines = text.split(/\r?\n/);
  const targets = new Map(); // label -> status (the last line for a label wins)
  let summary = null;
  let buildFailed = false;
  const errors = [];
  for (const line of lines) {
    const s = STATUS.exec(line);
    if (s) targets.set(s[1], s[2]);
    const c = summaryCounts(line);
    if (c) summary = c;
    if (
      /^FAILED: Build did NOT complete successfully/.test(line) ||
      /^ERROR: command succeeded, but not all targets were analyzed/.test(line)
    )
      buildFailed = true;
    if (/^ERROR: /.test(line)) errors.push(line.slice(7).trim());
  }
  const problems = [];
  const flaky = [];
  let skipped = 0;
  let failed = 0;
  for (const [label, status] of targets) {
    if (status === "FLAKY") flaky.push(label);
    else if (status === "SKIPPED") skipped++;
    else if (FAILED_STATUSES.has(status)) {
      failed++;
      problems.push(`${label}: ${status}${status === "NO STATUS" ? " (the test never ran)" : ""}`);
    }
  }
  const statuses = [...targets.values()];
  const noStatus = statuses.filter((s) => s === "NO STATUS").length;
  let passed = statuses.filter((s) => s === "PASSED" || s === "FLAKY").length;
  if (summary === null) {
    failed++;
    problems.push(`no Bazel test summary${errors.length ? `: ${errors[0]}` : " (the build failed before tests ran)"}`);
  } else {
    // terse output lists only the tests that did not pass: Bazel's pass count covers the rest
    passed = Math.max(passed, summary.pass);
    const unlistedFailures = summary.failToBuild + summary.failLocally + summary.failRemotely - (failed - noStatus);
    if (unlistedFailures > 0) {
      failed += unlistedFailures;
      problems.push(`${unlistedFailures} failing test(s) without a status line of their own`);
    }
    const unexplainedSkips = summary.skipped - skipped - noStatus;
    if (unexplainedSkips > 0) {
      failed += unexplainedSkips;
      problems.push(`${unexplainedSkips} skipped test(s) without a SKIPPED (incompatible) line: counted as never run`);
    }
  }
  const explained = [...targets.values()].some((s) => s === "FAILED TO BUILD" || s === "NO STATUS");
  if (buildFailed && !explained && summary !== null) {
    failed++;
    problems.push(
      `the build failed outside the tests: ${errors.find((e) => !/^command succeeded/.test(e)) ?? errors[0] ?? "see the log"}`,
    );
  }
  if (exitCode !== 0 && failed === 0) {
    failed++;
    problems.push(`bazel exited with ${exitCode} although every test passed`);
  }
  return { passed, failed, skipped, flaky, problems };
}

module.exports = { parseBazelTest, summaryCounts };

if (require.main === module) {
  const [file, code] = process.argv.slice(2);
  if (!file || code === undefined || !/^\d+$/.test(code)) {
    process.stderr.write("usage: node tools/ci/bazel_summary.js LOG EXIT_CODE\n");
    process.exit(2);
  }
  const r = parseBazelTest(require("fs").readFileSync(file, "utf8"), Number(code));
  for (const p of r.problems) process.stderr.write(`ci: FAILED ${p}\n`);
  if (r.flaky.length) process.stderr.write(`ci: flaky (passed on a retry): ${r.flaky.join(", ")}\n`);
  if (r.skipped) process.stderr.write(`ci: ${r.skipped} test(s) skipped as incompatible with this platform\n`);
  process.stdout.write(`passed=${r.passed} failed=${r.failed}\n`);
}
