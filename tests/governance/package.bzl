"""governed_package(): the last call of every module and kernel BUILD file, so the governance tests see the package
as Bazel declared it (macro-made targets included), not as a reading of BUILD text.

It records every rule of the package (`native.existing_rules()`: name, rule kind, tags, the macro that made it,
and for Rust tests their crate and rustc flags) and roots the build-graph aspect at all of them, writing
`<package>/governance.json` = {package, rules: [...], roots: [...], edges: [[from, to], ...]}. The governance test
depends on `//<package>:governance` for every declared module and kernel package, so a BUILD file without this
call fails the build of the governance test.
"""

load("//tests/governance/private:module_graph.bzl", "ModuleGraphInfo", "graph_aspect")

def _package_record_impl(ctx):
    edges = depset(transitive = [t[ModuleGraphInfo].edges for t in ctx.attr.targets]).to_list()
    out = ctx.actions.declare_file(ctx.label.name + ".json")
    ctx.actions.write(out, json.encode({
        "package": ctx.label.package,
        "rules": [json.decode(r) for r in ctx.attr.rules],
        "roots": sorted([str(t.label) for t in ctx.attr.targets]),
        "edges": sorted([e.split(" ") for e in edges]),
    }))
    return [DefaultInfo(files = depset([out]), runfiles = ctx.runfiles(files = [out]))]

package_record = rule(
    implementation = _package_record_impl,
    attrs = {
        "targets": attr.label_list(aspects = [graph_aspect], allow_files = True, doc = "Every rule of the package."),
        "rules": attr.string_list(doc = "One JSON object per rule of the package (see governed_package)."),
    },
    doc = "Writes <name>.json: the package's rules and the workspace-internal build edges below them.",
)

def _text(value):
    return value if type(value) == "string" else ""

def _strings(value):
    # existing_rules() gives list attributes as lists or tuples, depending on the Bazel version
    return [str(v) for v in value] if type(value) in ("list", "tuple") else []

# One call per package records the package itself, always as :governance (the governance test lists those
# labels), so the macro takes no name.
# buildifier: disable=unnamed-macro
def governed_package(graph = True):
    """Records this package's rules for the governance tests; call it last in the BUILD file.

    It also exports the package's README.md and BUILD.bazel to the governance tests, which read them.

    Args:
      graph: root the build-graph aspect at the package's rules (False only for packages whose targets are
        incompatible on some machines, e.g. CUDA, which would otherwise skip the governance tests there).
    """
    rules = native.existing_rules()
    names = sorted(rules.keys())
    records = []
    for name in names:
        r = rules[name]
        records.append(json.encode({
            "name": name,
            "kind": _text(r.get("kind")),
            "tags": _strings(r.get("tags")),
            "generator": _text(r.get("generator_function")),
            "crate": _text(r.get("crate")),
            "rustc_flags": _strings(r.get("rustc_flags")),
        }))
    native.exports_files(
        ["BUILD.bazel", "README.md"],
        visibility = ["//tests/governance:__pkg__"],
    )
    package_record(
        name = "governance",
        testonly = True,
        targets = [":" + n for n in names] if graph else [],
        rules = records,
        visibility = ["//tests/governance:__pkg__"],
    )
