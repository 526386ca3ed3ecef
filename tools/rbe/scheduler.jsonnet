// bb_scheduler: one queue per (instance name, platform); clients on 8982, workers on 8983, admin pages on 7982.
local common = import 'common.libsonnet';

{
  adminHttpServers: [{
    listenAddresses: ['127.0.0.1:%d' % common.ports.schedulerAdminHttp],
    authenticationPolicy: { allow: {} },
  }],
  clientGrpcServers: [common.grpcServer(common.ports.schedulerClients)],
  workerGrpcServers: [common.grpcServer(common.ports.schedulerWorkers)],
  contentAddressableStorage: common.blobstore.contentAddressableStorage,
  maximumMessageSizeBytes: common.maximumMessageSizeBytes,
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
    instanceNamePrefix: common.instanceName,
    platform: common.cpuPlatform,
    // One size class (0): the worker does not announce a size.
    sizeClasses: [0],
  }],
  // Actions for a platform no worker serves fail after this long instead of waiting for ever.
  platformQueueWithNoWorkersTimeout: '300s',
}
