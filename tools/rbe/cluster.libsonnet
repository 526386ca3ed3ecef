// Shared settings of the local Buildbarn cluster (tools/rbe/cluster.sh). Every process listens on 127.0.0.1 only.
// cluster.sh sets NEXA_RBE_STATE (the state directory) in each process's environment; the binaries expose the
// environment to jsonnet as external variables.
{
  state: std.extVar('NEXA_RBE_STATE'),

  // The instance name Bazel sends (--remote_instance_name) and the scheduler queues under.
  instanceName: 'nexa',

  // Platform properties of the CPU pool: Bazel's //tools/platforms:rbe_cpu exec_properties must equal these
  // exactly (the scheduler keys its queues on the whole platform). Sorted by name, as REv2 requires.
  cpuPlatform: {
    properties: [
      { name: 'OSFamily', value: 'linux' },
      { name: 'pool', value: 'cpu' },
    ],
  },

  ports: {
    frontend: 8980,
    storage: 8981,
    schedulerClients: 8982,
    schedulerWorkers: 8983,
    schedulerAdminHttp: 7982,
  },

  grpcServer(port): {
    listenAddresses: ['127.0.0.1:%d' % port],
    authenticationPolicy: { allow: {} },
  },

  grpcClient(port): { address: '127.0.0.1:%d' % port },

  // Largest protobuf message any process unmarshals (Bazel sends large FindMissingBlobs batches).
  maximumMessageSizeBytes: 16 * 1024 * 1024,

  // How the frontend, scheduler and worker reach storage. The AC is completeness-checked: an entry is only
  // returned when every output it names is still in the CAS, so a hit never points at an evicted blob.
  blobstore: {
    contentAddressableStorage: { grpc: $.grpcClient($.ports.storage) },
    actionCache: {
      completenessChecking: {
        backend: { grpc: $.grpcClient($.ports.storage) },
        maximumTotalTreeSizeBytes: 64 * 1024 * 1024,
      },
    },
  },
}
