// bb_scheduler: one queue per (instance name, platform); clients on 8982, workers on 8983, admin pages on 7982.
local cluster = import 'cluster.libsonnet';

{
  adminHttpServers: [{
    listenAddresses: ['127.0.0.1:%d' % cluster.ports.schedulerAdminHttp],
    authenticationPolicy: { allow: {} },
  }],
  clientGrpcServers: [cluster.grpcServer(cluster.ports.schedulerClients)],
  workerGrpcServers: [cluster.grpcServer(cluster.ports.schedulerWorkers)],
  contentAddressableStorage: cluster.blobstore.contentAddressableStorage,
  maximumMessageSizeBytes: cluster.maximumMessageSizeBytes,
  executeAuthorizer: { allow: {} },
  modifyDrainsAuthorizer: { allow: {} },
  killOperationsAuthorizer: { allow: {} },
  actionRouter: {
    simple: {
      // Bazel 4.2 sets the platform in both the Action and the Command.
      platformKeyExtractor: { actionAndCommand: {} },
      invocationKeyExtractors: [
        { correlatedInvocationsId: {} },
        { toolInvocationId: {} },
      ],
      initialSizeClassAnalyzer: {
        defaultExecutionTimeout: '1800s',
        maximumExecutionTimeout: '7200s',
      },
    },
  },
  // The CPU pool's queue exists from the start, so `cluster.sh status` can show it before the first build.
  predeclaredPlatformQueues: [{
    instanceNamePrefix: cluster.instanceName,
    platform: cluster.cpuPlatform,
    // One size class (0): the worker does not announce a size.
    sizeClasses: [0],
  }],
  // Actions for a platform no worker serves fail after this long instead of waiting for ever.
  platformQueueWithNoWorkersTimeout: '300s',
}
