"""stage_rule: builds rules for pipeline stages (one per stage kind) with typed inputs and outputs."""

# The stage rules run ts_binary tools: they share the TypeScript family's provider (one rule set, two families).
# buildifier: disable=bzl-visibility
load("//tools/typescript/private:ts_binary.bzl", "TsBinaryInfo")
load(":overrides.bzl", "ConfigOverridesInfo", "stage_overrides")
load(":shards.bzl", "ShardCountsInfo", "stage_shards")

StageInfo = provider(
    doc = "Outputs of one pipeline stage.",
    fields = {
        "stage": "string: the stage name (the target's name)",
        "module": "string: the module implementing the stage, e.g. modules/pack",
        "kind": "string: the manifest message describing the stage's product, e.g. nexa.v1.DatasetManifest",
        "manifest": "File: <name>.manifest.json (deterministic, canonical JSON)",
        "data": "File: <name>/ directory of data files listed in the manifest",
        "log": "File: <name>.log.jsonl (never an input of anything)",
        "config": "File: the stage config as written (before overrides)",
        "config_schema": "string: the config message, e.g. nexa.v1.TrainConfig (empty when the kind does not say)",
        "upstream": "depset[File]: manifests and data of this stage and every stage before it",
        "stages": "depset[struct(stage, module, manifest)]: this stage and its upstream stages, in pipeline order",
    },
)

def _kind(doc):
    return provider(doc = doc, fields = {"stage": "StageInfo of the producing stage"})

DatasetInfo = _kind("A text dataset: a stage whose manifest is a nexa.v1.DatasetManifest (data, distill).")
PackedDatasetInfo = _kind("Packed training shards: a nexa.v1.PackedDatasetManifest (pack).")
CheckpointInfo = _kind("A model checkpoint: a nexa.v1.CheckpointManifest (train).")
EvalReportInfo = _kind("An evaluation report: a nexa.v1.EvalReport (eval).")

_KIND_PROVIDERS = {
    "dataset": (DatasetInfo, "nexa.v1.DatasetManifest"),
    "packed_dataset": (PackedDatasetInfo, "nexa.v1.PackedDatasetManifest"),
    "checkpoint": (CheckpointInfo, "nexa.v1.CheckpointManifest"),
    "eval_report": (EvalReportInfo, "nexa.v1.EvalReport"),
}

def slot(kind, multiple = False, doc = ""):
    """An input slot of a stage kind: the product kind it accepts and whether it takes several upstream stages.

    Args:
      kind: the accepted product kind: "dataset", "packed_dataset", "checkpoint" or "eval_report".
      multiple: the slot takes a list of upstream stages (label_list) instead of at most one.
      doc: what the slot is for (the attribute's documentation).
    """
    if kind not in _KIND_PROVIDERS:
        fail("slot(kind = {}): not a product kind; use one of {}".format(repr(kind), sorted(_KIND_PROVIDERS.keys())))
    return struct(kind = kind, multiple = multiple, doc = doc)

def _input_args(ctx, slots):
    """--input=<slot>=<manifest>:<data dir> for every wired upstream stage, in slot order."""
    args = []
    files = []
    upstream = []
    stages = []
    for name in sorted(slots):
        multi = slots[name]
        targets = getattr(ctx.attr, name)
        if not multi:
            targets = [targets] if targets else []
        for t in targets:
            info = t[StageInfo]
            args.append("--input={}={}:{}".format(name, info.manifest.path, info.data.path))
            files += [info.manifest, info.data]
            upstream.append(info.upstream)
            stages.append(info.stages)
    return args, files, upstream, stages

# What a stage with `network = True` asks of its executor: the network, the host (no sandbox without network), and
# never a remote executor or cache (its result depends on a server outside the build).
NETWORK_REQUIREMENTS = {"no-remote": "1", "no-sandbox": "1", "requires-network": "1"}

def _run(ctx, tool, command, args, inputs, outputs, progress):
    env = {"NODE_PATH": "external/npm/node_modules", "NEXA_STAGE_LABEL": str(ctx.label)}
    env_inputs = []
    requirements = {}
    if getattr(ctx.attr, "network", False):
        env["NEXA_STAGE_NETWORK"] = "1"
        requirements = NETWORK_REQUIREMENTS
    recording = getattr(ctx.file, "recording", None)
    if recording:
        env["NEXA_TEACHER_RECORDING"] = recording.path
        env_inputs.append(recording)
    for target, var in ctx.attr.env_files.items():
        files = target.files.to_list()
        if len(files) != 1:
            fail("{}: env_files entry {} must be exactly one file, got {}".format(ctx.label, target.label, len(files)))
        env[var] = files[0].path
        env_inputs.append(files[0])
    ctx.actions.run(
        executable = tool.node,
        arguments = ["--preserve-symlinks", "--preserve-symlinks-main", tool.bundle.path, command] + args,
        inputs = depset(inputs + env_inputs, transitive = [tool.externals]),
        outputs = outputs,
        env = env,
        execution_requirements = requirements,
        mnemonic = "NexaStage",
        progress_message = progress,
    )

def _stage_impl(ctx):
    module = ctx.attr._module
    kind_info, kind = _KIND_PROVIDERS[ctx.attr._produces]
    slots = {name: multi == "multiple" for name, multi in ctx.attr._slots.items()}
    tool = ctx.attr.tool[TsBinaryInfo]
    name = ctx.label.name
    input_args, input_files, upstream, stages = _input_args(ctx, slots)
    common = ["--stage=" + name, "--module=" + module, "--config=" + ctx.file.config.path]
    common += input_args + ["--raw=" + f.path for f in ctx.files.raw]

    # Only this stage's overrides reach its tool: no other action's key changes.
    common += ["--set={}={}".format(o.field, o.value) for o in stage_overrides(ctx, name)]
    inputs = [ctx.file.config, tool.bundle] + input_files + ctx.files.raw

    data = ctx.actions.declare_directory(name)
    manifest = ctx.actions.declare_file(name + ".manifest.json")
    log = ctx.actions.declare_file(name + ".log.jsonl")
    outs = ["--out=" + data.path, "--manifest=" + manifest.path, "--log=" + log.path]
    if getattr(ctx.attr, "network", False) and getattr(ctx.file, "recording", None):
        fail("{}: `network = True` and `recording` exclude each other: a recording is replayed without a network".format(ctx.label))
    n = stage_shards(ctx, name)
    if n < 1:
        fail("{}: num_shards must be >= 1, got {}".format(ctx.label, n))
    shard_logs = []
    if n == 1:
        _run(ctx, tool, "run", common + outs, inputs, [data, manifest, log], "Stage {} ({})".format(name, module))
    else:
        # One action per shard (the unit of resume and of remote fan-out), then a merge.
        shard_dirs = []
        for i in range(n):
            d = ctx.actions.declare_directory("{}.shard-{}-of-{}".format(name, i, n))
            shard_log = ctx.actions.declare_file("{}.shard-{}-of-{}.log.jsonl".format(name, i, n))
            shard_args = ["--shard={}".format(i), "--num-shards={}".format(n), "--out=" + d.path, "--log=" + shard_log.path]
            _run(ctx, tool, "run", common + shard_args, inputs, [d, shard_log], "Stage {} shard {}/{} ({})".format(name, i + 1, n, module))
            shard_dirs.append(d)
            shard_logs.append(shard_log)
        merge_args = common + ["--shard-dir=" + d.path for d in shard_dirs] + outs
        _run(ctx, tool, "merge", merge_args, inputs + shard_dirs, [data, manifest, log], "Stage {} merge of {} shards ({})".format(name, n, module))

    info = StageInfo(
        stage = name,
        module = module,
        kind = kind,
        manifest = manifest,
        data = data,
        log = log,
        config = ctx.file.config,
        config_schema = ctx.attr._config_schema,
        upstream = depset([manifest, data], transitive = upstream),
        stages = depset([struct(stage = name, module = module, manifest = manifest)], transitive = stages, order = "postorder"),
    )
    return [
        DefaultInfo(files = depset([manifest, data]), runfiles = ctx.runfiles(files = [manifest, data])),
        info,
        kind_info(stage = info),
        OutputGroupInfo(logs = depset([log] + shard_logs)),
    ]

def stage_rule(module, produces, inputs = {}, env_files = {}, config_schema = "", doc = "", network = False):
    """Returns a rule for one stage kind.

    Args:
      module: the module implementing the stage, e.g. "modules/pack" (recorded in the StageManifest); its
        `//<module>:stage` ts_binary is the default `tool`.
      produces: the product kind: "dataset", "packed_dataset", "checkpoint" or "eval_report".
      inputs: input slot name -> slot(kind, multiple = False), e.g. {"dataset": slot("dataset")}.
      config_schema: the config message the module decodes, e.g. "nexa.v1.TrainConfig" (recorded in the pipeline
        plan, where `nexa run --set` validates overrides against it).
      env_files: default of the rule's `env_files`: file label -> environment variable that receives its path
        (e.g. {"//kernels/abi:nexa_kernels": "NEXA_KERNELS_LIB"}); the files become action inputs.
      doc: the rule's documentation.
      network: the kind may query a server (e.g. a distill stage's endpoint teacher): its rule gets a `network`
        attribute (the action then runs on the host with NEXA_STAGE_NETWORK=1, tagged requires-network, no-remote,
        no-sandbox) and a `recording` attribute (a file of answers recorded before, replayed hermetically:
        NEXA_TEACHER_RECORDING).

    Returns:
      The rule; assign it to a name at the top level of a .bzl file.
    """
    attrs = {
        "tool": attr.label(
            default = "//{}:stage".format(module),
            providers = [TsBinaryInfo],
            cfg = "exec",
            doc = "The module's ts_binary entry point (default //{}:stage).".format(module),
        ),
        "config": attr.label(mandatory = True, allow_single_file = [".json"], doc = "The stage config: a nexa.v1 message in proto3 JSON."),
        "raw": attr.label_list(allow_files = True, doc = "Raw source files read by the stage (e.g. the corpus)."),
        "num_shards": attr.int(
            default = 1,
            doc = "Split the stage into this many shard actions plus a merge (streaming stages); " +
                  "--//tools/stage:shards=<stage>=N overrides it for one build.",
        ),
        "env_files": attr.label_keyed_string_dict(
            default = env_files,
            allow_files = True,
            cfg = "exec",
            doc = "Files the tool loads at run time (e.g. a kernels library), each exposed as an environment variable.",
        ),
    }
    if network:
        attrs["network"] = attr.bool(
            default = False,
            doc = "Query the server the config names: the action runs on the host with the network, never remotely.",
        )
        attrs["recording"] = attr.label(
            allow_single_file = [".jsonl"],
            doc = "Answers recorded by an earlier run of this stage (its teacher_responses.jsonl), replayed without a network.",
        )
    if produces not in _KIND_PROVIDERS:
        fail("stage_rule(module = {}): produces = {} is not one of {}".format(repr(module), repr(produces), sorted(_KIND_PROVIDERS.keys())))
    slots = {}
    for name, spec in inputs.items():
        if type(spec) != "struct" or not hasattr(spec, "kind"):
            fail("stage_rule(module = {}): input {} is {}; declare it with slot(kind, multiple = False), e.g. {}".format(
                repr(module),
                repr(name),
                repr(spec),
                "{\"%s\": slot(\"dataset\")}" % name,
            ))
        p = _KIND_PROVIDERS[spec.kind][0]
        slots[name] = "multiple" if spec.multiple else "single"
        what = spec.doc or "producing {}".format(spec.kind)
        if spec.multiple:
            attrs[name] = attr.label_list(providers = [p], doc = "Upstream stages {}.".format(what))
        else:
            attrs[name] = attr.label(providers = [p], doc = "The upstream stage {}.".format(what))
    attrs["_module"] = attr.string(default = module)
    attrs["_produces"] = attr.string(default = produces)
    attrs["_slots"] = attr.string_dict(default = slots)
    attrs["_config_schema"] = attr.string(default = config_schema)
    attrs["_overrides"] = attr.label(default = "//tools/stage:set", providers = [ConfigOverridesInfo])
    attrs["_shards"] = attr.label(default = "//tools/stage:shards", providers = [ShardCountsInfo])
    return rule(implementation = _stage_impl, attrs = attrs, doc = doc)
