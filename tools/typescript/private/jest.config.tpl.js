// Jest configuration generated for one jest_test target (from tools/typescript/private/jest.config.tpl.js).
// Paths are computed at run time from the runfiles tree so the same file works under `bazel test` and `bazel run`.
"use strict";
const path = require("path");
const os = require("os");

const runfiles = process.env.RUNFILES_DIR || process.env.TEST_SRCDIR;
const ws = path.join(runfiles, "{WORKSPACE}");
const npm = path.join(runfiles, "npm", "node_modules");
const tmp = process.env.TEST_TMPDIR || os.tmpdir();
const xml = process.env.XML_OUTPUT_FILE;

module.exports = {
  rootDir: ws,
  roots: [path.join(ws, "{PACKAGE}")],
  testMatch: {TEST_FILES}.map((f) => path.join(ws, f)),
  testEnvironment: "node",
  transform: {
    "^.+\\.[cm]?[tj]s$": [
      path.join(npm, "@swc/jest"),
      { jsc: { parser: { syntax: "typescript" }, target: "es2022" }, module: { type: "commonjs" }, sourceMaps: "inline" },
    ],
  },
  // ES-module-only packages (hyparquet, hyparquet-writer) are transformed to CommonJS like the sources.
  transformIgnorePatterns: ["/node_modules/(?!(hyparquet|hyparquet-writer)/)"],
  moduleNameMapper: { "^@nexa/(.*)$": path.join(ws, "$1") },
  modulePaths: [npm],
  moduleFileExtensions: ["ts", "js", "json", "node"],
  haste: { enableSymlinks: true },
  watchman: false,
  cacheDirectory: path.join(tmp, "jest-cache"),
  // Bazel collects this JUnit file as the test's test.xml, so a cached result needs no extra action.
  reporters: xml
    ? ["default", [path.join(npm, "jest-junit"), { outputDirectory: path.dirname(xml), outputName: path.basename(xml), addFileAttribute: "true" }]]
    : ["default"],
};
