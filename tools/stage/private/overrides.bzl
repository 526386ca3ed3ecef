"""Config overrides of one build: the `--//tools/stage:set=stage.field=value,...` build setting.

`nexa run --set stage.field=value` passes the overrides as this string_list build setting. Each stage rule reads it
and hands only its own entries to its tool (`--set=field=value`), so only that stage's action key changes; the
pipeline rule records them in its plan. Command-line build settings do not change output paths, so every other
action keeps its key and stays cached.
"""

ConfigOverridesInfo = provider(
    doc = "The config overrides of this build.",
    fields = {"entries": "list of struct(stage, field, value), in command-line order"},
)

def parse_override(label, entry):
    """Parses one entry of the setting; fails naming the setting and the fix.

    Args:
      label: the setting's label (for the message).
      entry: `stage.field=value`.

    Returns:
      struct(stage, field, value).
    """
    eq = entry.find("=")
    dot = entry.find(".")
    if eq < 0 or dot < 1 or dot > eq or dot == eq - 1:
        fail("{}: override {} is not stage.field=value (e.g. train.steps=20); use nexa run --set".format(label, repr(entry)))
    return struct(stage = entry[:dot], field = entry[dot + 1:eq], value = entry[eq + 1:])

def _config_overrides_impl(ctx):
    return [ConfigOverridesInfo(entries = [parse_override(ctx.label, e) for e in ctx.build_setting_value if e])]

config_overrides = rule(
    implementation = _config_overrides_impl,
    build_setting = config.string_list(flag = True),
    doc = "A string_list build setting of config overrides (`stage.field=value`).",
)

def stage_overrides(ctx, stage):
    """The override entries of one stage.

    Args:
      ctx: the rule context (its `_overrides` attribute is //tools/stage:set).
      stage: the stage name.

    Returns:
      The entries of `stage`, in command-line order.
    """
    return [e for e in ctx.attr._overrides[ConfigOverridesInfo].entries if e.stage == stage]
