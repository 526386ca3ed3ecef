# Pinned Buildbarn sources for the local remote-execution cluster (sourced by tools/rbe/*.sh).
#
# bb-remote-execution d03d5e3 (2024-12-15) predates both changes that break Bazel 4.2.3: the worker flag
# supportLegacyOutputFilesAndDirectories (2025-08-12) and the removal of REv2.0/2.1 (2026-03-26). Its go.mod
# requires the bb-storage version below, and its go.sum pins every dependency, so the one hash held here (the
# module's h1: sum, checked against `go mod download -json`) fixes the whole dependency graph.

# Buildbarn-style name of the build (tag format <commit time>Z-<short commit>): the install prefix is
# buildbarn-$BB_VERSION.
BB_VERSION=20241215T094620Z-d03d5e3

BB_REMOTE_EXECUTION_MODULE=github.com/buildbarn/bb-remote-execution
BB_REMOTE_EXECUTION_VERSION=v0.0.0-20241215094620-d03d5e3708ed
BB_REMOTE_EXECUTION_SUM=h1:wWVdhjCJuJPGzDyZCh+SSJXGv3p1R/9kdubf9jDJkwc=

# Required by the go.mod above (checked by the build); bb_storage is built from it inside the same module graph.
BB_STORAGE_MODULE=github.com/buildbarn/bb-storage
BB_STORAGE_VERSION=v0.0.0-20240918135726-256ec6c483a0

# Dependencies that Buildbarn's own Bazel build patches, with the patch files shipped in the Buildbarn module
# sources. Each line: <module> <version> <patch source: execution|storage> <patch path inside that module>. Patches of
# one module apply with -p0 in the listed order (MODULE.bazel order).
BB_PATCHES="
google.golang.org/genproto/googleapis/bytestream v0.0.0-20240903143218-8af14fe29dc1 storage patches/org_golang_google_genproto_googleapis_bytestream/service-registrar.diff
github.com/hanwen/go-fuse/v2 v2.5.1 execution patches/com_github_hanwen_go_fuse_v2/direntrylist-offsets-and-testability.diff
github.com/hanwen/go-fuse/v2 v2.5.1 execution patches/com_github_hanwen_go_fuse_v2/writeback-cache.diff
github.com/hanwen/go-fuse/v2 v2.5.1 execution patches/com_github_hanwen_go_fuse_v2/notify-testability.diff
github.com/grpc-ecosystem/go-grpc-prometheus v1.2.0 storage patches/com_github_grpc_ecosystem_go_grpc_prometheus/client-metrics-prevent-handled-twice.diff
"

# The programs built: package path (relative to bb-remote-execution, or a full import path) per binary.
BB_PROGRAMS="
bb_scheduler ./cmd/bb_scheduler
bb_worker ./cmd/bb_worker
bb_runner ./cmd/bb_runner
bb_storage github.com/buildbarn/bb-storage/cmd/bb_storage
"

NEXA_RBE_HOME="${NEXA_RBE_HOME:-$HOME/.cache/nexacompute/rbe}"
NEXA_RBE_STATE="${NEXA_RBE_STATE:-$NEXA_RBE_HOME/state}"
BB_PREFIX="$NEXA_RBE_HOME/buildbarn-$BB_VERSION"
BB_BIN="$BB_PREFIX/bin"
