"""The remote execution pools: the REv2 platform properties an action carries to the cluster.

A worker announces exactly one of these sets and the scheduler matches it whole (tools/rbe/cluster.libsonnet).
CPU actions carry CPU_POOL: it is --config=rbe's `--remote_default_exec_properties`. A target that needs a GPU
(every `cuda_test`; a stage whose config trains on CUDA) sets `exec_properties = GPU_POOL`: Bazel 4 then sends that
set instead of the defaults, for all of the target's actions (it has no per-action exec groups yet).
"""

CPU_POOL = {
    "OSFamily": "linux",
    "pool": "cpu",
}

GPU_POOL = {
    "OSFamily": "linux",
    "pool": "gpu",
}
