// bb_worker: one native build directory (plain files and hard links, no FUSE) with two concurrent executors.
// The build and cache directories are on the same filesystem: inputs are hard-linked from the cache.
local cluster = import 'cluster.libsonnet';

{
  blobstore: cluster.blobstore,
  maximumMessageSizeBytes: cluster.maximumMessageSizeBytes,
  scheduler: cluster.grpcClient(cluster.ports.schedulerWorkers),
  buildDirectories: [{
    native: {
      buildDirectoryPath: cluster.state + '/worker/build',
      cacheDirectoryPath: cluster.state + '/worker/cache',
      // TypeScript actions have ~4-5 k input files (node_modules closures).
      maximumCacheFileCount: 200000,
      maximumCacheSizeBytes: 4 * 1024 * 1024 * 1024,
      cacheReplacementPolicy: 'LEAST_RECENTLY_USED',
    },
    runners: [{
      endpoint: { address: 'unix:' + cluster.state + '/worker/runner.sock' },
      concurrency: 2,
      instanceNamePrefix: cluster.instanceName,
      platform: cluster.cpuPlatform,
      workerId: { host: 'localhost', pool: 'cpu' },
      // Added to every action's environment (an action's own variables win). See docs/scale-out.md for what
      // the project's actions need from the worker.
      environmentVariables: {},
    }],
  }],
  filePool: { directoryPath: cluster.state + '/worker/filepool' },
  inputDownloadConcurrency: 16,
  outputUploadConcurrency: 16,
  directoryCache: {
    maximumCount: 20000,
    maximumSizeBytes: 64 * 1024 * 1024,
    cacheReplacementPolicy: 'LEAST_RECENTLY_USED',
  },
}
