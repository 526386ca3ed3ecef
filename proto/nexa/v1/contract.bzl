"""contract(): one nexa.v1 proto file as its two fixed targets, <name>_proto and <name>_ts_proto."""

load("//tools/proto:defs.bzl", "proto_library", "ts_proto_library")

def contract(name, deps = []):
    """Declares <name>_proto (from <name>.proto, imported as "nexa/v1/<name>.proto") and <name>_ts_proto.

    Args:
      name: the proto file's base name, e.g. "dataset".
      deps: base names of the nexa.v1 contracts it imports, e.g. ["artifact"].
    """
    proto_library(
        name = name + "_proto",
        srcs = [name + ".proto"],
        strip_import_prefix = "/proto",
        deps = [":{}_proto".format(d) for d in deps],
    )
    ts_proto_library(
        name = name + "_ts_proto",
        proto = ":{}_proto".format(name),
        deps = [":{}_ts_proto".format(d) for d in deps],
    )
