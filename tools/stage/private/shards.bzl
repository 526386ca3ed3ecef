"""Shard counts of one build: the `--//tools/stage:shards=stage=N,...` build setting.

A stage's `num_shards` attribute is its default; the flag (`nexa run --bazel-arg=--//tools/stage:shards=data=4`) overrides it for
this build without editing the BUILD file. A shardable module (one with a merge step, e.g. modules/data) gives the
same product for any count; a module without one refuses a count above 1 when its action runs (STAGE_NOT_SHARDABLE).
Like the config overrides, a command-line build setting does not change output paths: only the named stage's
actions change.
"""

ShardCountsInfo = provider(
    doc = "The shard counts this build sets.",
    fields = {"counts": "dict: stage name -> shard count (int >= 1)"},
)

def _shard_counts_impl(ctx):
    counts = {}
    for entry in ctx.build_setting_value:
        if not entry:
            continue
        eq = entry.find("=")
        stage, n = entry[:eq], entry[eq + 1:]
        if eq < 1 or not n.isdigit() or int(n) < 1:
            fail("{}: {} is not stage=N with N >= 1 (e.g. data=4)".format(ctx.label, repr(entry)))
        counts[stage] = int(n)
    return [ShardCountsInfo(counts = counts)]

shard_counts = rule(
    implementation = _shard_counts_impl,
    build_setting = config.string_list(flag = True),
    doc = "A string_list build setting of shard counts (`stage=N`).",
)

def stage_shards(ctx, stage):
    """The shard count of one stage: the build setting's entry for it, else its `num_shards` attribute.

    Args:
      ctx: the rule context (its `_shards` attribute is //tools/stage:shards).
      stage: the stage name.

    Returns:
      The shard count.
    """
    return ctx.attr._shards[ShardCountsInfo].counts.get(stage, ctx.attr.num_shards)
