"""module_graph: the workspace-internal dependency graph under a set of targets, as JSON, built by an aspect.

The aspect walks every attribute of every rule (sources, deps, data, tools, implicit attributes), so the graph is
the real build graph Bazel analyses, not a reading of BUILD files. External repositories are not recorded.
"""

ModuleGraphInfo = provider(
    doc = "Edges of the build graph reachable from a target.",
    fields = {"edges": "depset[string]: 'FROM_LABEL TO_LABEL' for workspace-internal dependencies"},
)

def _labels_of(value):
    if type(value) == "Target":
        return [value]
    if type(value) == "list":
        return [v for v in value if type(v) == "Target"]
    return []

def _graph_aspect_impl(target, ctx):
    if target.label.workspace_name != "":
        return [ModuleGraphInfo(edges = depset())]
    edges = []
    transitive = []
    for name in dir(ctx.rule.attr):
        if name in ["to_json", "to_proto"]:
            continue
        for dep in _labels_of(getattr(ctx.rule.attr, name)):
            if dep.label.workspace_name != "":
                continue
            edges.append("{} {}".format(target.label, dep.label))
            if ModuleGraphInfo in dep:
                transitive.append(dep[ModuleGraphInfo].edges)
    return [ModuleGraphInfo(edges = depset(edges, transitive = transitive))]

graph_aspect = aspect(
    implementation = _graph_aspect_impl,
    attr_aspects = ["*"],
)

def _module_graph_impl(ctx):
    edges = depset(transitive = [t[ModuleGraphInfo].edges for t in ctx.attr.targets]).to_list()
    roots = [str(t.label) for t in ctx.attr.targets]
    out = ctx.actions.declare_file(ctx.label.name + ".json")
    ctx.actions.write(out, json.encode({
        "roots": sorted(roots),
        "edges": sorted([e.split(" ") for e in edges]),
    }))
    return [DefaultInfo(files = depset([out]), runfiles = ctx.runfiles(files = [out]))]

module_graph = rule(
    implementation = _module_graph_impl,
    attrs = {
        "targets": attr.label_list(aspects = [graph_aspect], allow_files = True, doc = "Roots of the graph."),
    },
    doc = "Writes <name>.json: {roots: [label], edges: [[from, to]]} of workspace-internal build edges.",
)
