// bb_storage as the frontend Bazel talks to (--remote_executor / --remote_cache): CAS and AC requests go to the
// storage node, Execute requests for instance names under cluster.instanceName go to the scheduler.
local cluster = import 'cluster.libsonnet';

{
  grpcServers: [cluster.grpcServer(cluster.ports.frontend)],
  schedulers: {
    // The map key is stripped from the instance name before forwarding; add it back so that the scheduler and
    // the worker see the same instance name as Bazel.
    [cluster.instanceName]: {
      addInstanceNamePrefix: cluster.instanceName,
      endpoint: cluster.grpcClient(cluster.ports.schedulerClients) {
        // Bazel's RequestMetadata (tool invocation id, action mnemonic) reaches the scheduler, which groups
        // the operations of one invocation and shows them on its admin page.
        addMetadataJmespathExpression: |||
          {
            "build.bazel.remote.execution.v2.requestmetadata-bin": incomingGRPCMetadata."build.bazel.remote.execution.v2.requestmetadata-bin"
          }
        |||,
      },
    },
  },
  maximumMessageSizeBytes: cluster.maximumMessageSizeBytes,
  contentAddressableStorage: {
    backend: cluster.blobstore.contentAddressableStorage,
    getAuthorizer: { allow: {} },
    putAuthorizer: { allow: {} },
    findMissingAuthorizer: { allow: {} },
  },
  actionCache: {
    backend: cluster.blobstore.actionCache,
    getAuthorizer: { allow: {} },
    putAuthorizer: { allow: {} },
  },
  executeAuthorizer: { allow: {} },
}
