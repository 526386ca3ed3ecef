"""Offline stand-in for @rules_java//java:defs.bzl: re-exports the native Java rules.

The JDK toolchain BUILD files inside @bazel_tools load these names; NexaCompute itself has no java_* targets.
"""

java_binary = native.java_binary
java_import = native.java_import
java_library = native.java_library
java_plugin = native.java_plugin
java_test = native.java_test
java_package_configuration = native.java_package_configuration
java_runtime = native.java_runtime
java_toolchain = native.java_toolchain
