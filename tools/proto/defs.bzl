"""Public face of the protobuf rule family: proto_library (Bazel's native rule) and ts_proto_library.

`proto_library` is Bazel's own rule, fed by the host protoc that @com_google_protobuf exposes (see
//tools/toolchains); `ts_proto_library` runs protoc with the ts-proto plugin. Upstream equivalents: rules_proto's
proto_library and rules_ts_proto / aspect's ts_proto_library.
"""

load("//tools/proto/private:ts_proto_library.bzl", _ts_proto_library = "ts_proto_library")

proto_library = native.proto_library
ts_proto_library = _ts_proto_library
