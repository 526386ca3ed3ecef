"""nexa_pipeline: an executable that publishes a pipeline's stage outputs (`bazel run //pipelines:<name>`)."""

load("//tools/stage/private:overrides.bzl", "ConfigOverridesInfo")
load("//tools/stage/private:stage.bzl", "StageInfo")

_LAUNCHER = """#!/usr/bin/env bash
# Publishes the pipeline {label}: runs `nexa publish` over the stage outputs Bazel built.
set -euo pipefail
if [[ -z "${{RUNFILES_DIR:-}}" ]]; then
  if [[ -d "$0.runfiles" ]]; then RUNFILES_DIR="$0.runfiles"; else RUNFILES_DIR="${{TEST_SRCDIR:-$0.runfiles}}"; fi
fi
export RUNFILES_DIR
exec "$RUNFILES_DIR/{cli}" publish --pipeline-file="$RUNFILES_DIR/{plan}" --root="$RUNFILES_DIR/{workspace}" {args} "$@"
"""

def _runfiles_path(ctx, f):
    if f.short_path.startswith("../"):
        return f.short_path[3:]
    return ctx.workspace_name + "/" + f.short_path

def _nexa_pipeline_impl(ctx):
    stages = [s[StageInfo] for s in ctx.attr.stages]
    seen = {}
    for s in stages:
        # Every upstream stage must be listed, and listed earlier: the list is the pipeline's order.
        for up in s.stages.to_list():
            if up.stage != s.stage and up.stage not in seen:
                fail("{}: stage '{}' needs '{}', which must appear before it in `stages`".format(ctx.label, s.stage, up.stage))
        seen[s.stage] = True
    if ctx.attr.report_stage and ctx.attr.report_stage not in seen:
        fail("{}: report_stage '{}' is not one of the stages".format(ctx.label, ctx.attr.report_stage))
    plan = ctx.actions.declare_file(ctx.label.name + ".pipeline.json")

    # A nexa.v1.PipelinePlan (proto/nexa/v1/pipeline.proto) in proto3 JSON; `nexa publish` decodes it strictly.
    ctx.actions.write(plan, json.encode({
        "schemaVersion": 1,
        "pipeline": str(ctx.label),
        "reportStage": ctx.attr.report_stage,
        "stages": [{
            "stage": s.stage,
            "module": s.module,
            "kind": s.kind,
            "manifest": s.manifest.short_path,
            "data": s.data.short_path,
            "log": s.log.short_path,
            "config": s.config.short_path,
            "configSchema": s.config_schema,
        } for s in stages],
        "overrides": [
            {"stage": o.stage, "field": o.field, "value": o.value}
            for o in ctx.attr._overrides[ConfigOverridesInfo].entries
            if o.stage in seen
        ],
    }))
    cli = ctx.attr.cli[DefaultInfo].files_to_run.executable
    launcher = ctx.actions.declare_file(ctx.label.name + ".sh")
    ctx.actions.write(launcher, _LAUNCHER.format(
        label = ctx.label,
        cli = _runfiles_path(ctx, cli),
        plan = _runfiles_path(ctx, plan),
        workspace = ctx.workspace_name,
        args = " ".join(ctx.attr.publish_args),
    ), is_executable = True)
    files = [plan]
    for s in stages:
        files += [s.manifest, s.data, s.log, s.config]
    runfiles = ctx.runfiles(files = files).merge(ctx.attr.cli[DefaultInfo].default_runfiles)
    return [
        DefaultInfo(executable = launcher, files = depset([launcher, plan]), runfiles = runfiles),
        # `bazel build --output_groups=nexa_plan` writes the plan alone (no stage runs): `nexa run` checks
        # overrides against it before running anything.
        OutputGroupInfo(nexa_plan = depset([plan])),
    ]

nexa_pipeline = rule(
    implementation = _nexa_pipeline_impl,
    attrs = {
        "stages": attr.label_list(providers = [StageInfo], mandatory = True, doc = "Every stage, in pipeline order."),
        "report_stage": attr.string(doc = "The stage whose EvalReport decides the exit code (rubric pass/fail)."),
        "publish_args": attr.string_list(doc = "Extra arguments of `nexa publish`."),
        "cli": attr.label(default = "//modules/cli:nexa", executable = True, cfg = "target"),
        "_overrides": attr.label(default = "//tools/stage:set", providers = [ConfigOverridesInfo]),
    },
    executable = True,
    doc = "`bazel run` builds every stage (cached), then `nexa publish` stores outputs and manifests in the registry, " +
          "writes the RunManifest and prints the summary; the stage logs travel as runfiles, never as action inputs.",
)
