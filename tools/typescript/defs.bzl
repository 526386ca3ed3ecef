"""Public face of the TypeScript rule family: ts_project, ts_binary, jest_test (and the TsInfo provider).

Names and core attributes follow rules_ts (`ts_project`), rules_esbuild and rules_jest, so a team with network
access can switch to upstream by changing this load. Cross-package imports use the `@nexa/<workspace path>`
prefix; npm packages are `@npm//<name>` labels generated from package-lock.json.
"""

load("//tools/typescript/private:providers.bzl", _TsInfo = "TsInfo")
load("//tools/typescript/private:ts_project.bzl", _ts_project = "ts_project")
load("//tools/typescript/private:ts_binary.bzl", _TsBinaryInfo = "TsBinaryInfo", _ts_binary = "ts_binary")
load("//tools/typescript/private:jest_test.bzl", _jest_test = "jest_test")

TsInfo = _TsInfo
ts_project = _ts_project
ts_binary = _ts_binary
TsBinaryInfo = _TsBinaryInfo
jest_test = _jest_test
