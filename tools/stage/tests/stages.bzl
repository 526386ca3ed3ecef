"""Stage kinds used by the stage rule tests (a real pipeline declares its kinds in pipelines/)."""

load("//tools/stage:defs.bzl", "slot", "stage_rule")

count_stage = stage_rule(module = "tools/stage/tests", produces = "dataset", doc = "Counts lines of raw files.")

recount_stage = stage_rule(
    module = "tools/stage/tests",
    produces = "packed_dataset",
    inputs = {"dataset": slot("dataset")},
    doc = "Consumes a dataset stage (typed input).",
)

def _set_overrides_impl(_settings, attr):
    return {"//tools/stage:set": attr.overrides}

_set_overrides = transition(implementation = _set_overrides_impl, inputs = [], outputs = ["//tools/stage:set"])

def _with_overrides_impl(ctx):
    # The manifests, under <name>/ (the transitioned outputs would share their runfiles paths with the plain ones).
    out = []
    for t in ctx.attr.targets:
        for f in t[DefaultInfo].files.to_list():
            if f.basename.endswith(".manifest.json"):
                link = ctx.actions.declare_file("{}/{}".format(ctx.label.name, f.basename))
                ctx.actions.symlink(output = link, target_file = f)
                out.append(link)
    return [DefaultInfo(files = depset(out), runfiles = ctx.runfiles(files = out))]

with_overrides = rule(
    implementation = _with_overrides_impl,
    attrs = {
        "targets": attr.label_list(cfg = _set_overrides),
        "overrides": attr.string_list(doc = "The value of //tools/stage:set for `targets`."),
        "_allowlist_function_transition": attr.label(default = "@bazel_tools//tools/allowlists/function_transition_allowlist"),
    },
    doc = "Builds `targets` as `--//tools/stage:set=<overrides>` would (tests of the override plumbing).",
)
