// bb_storage as the storage node: CAS and AC on sparse block files under $NEXA_RBE_STATE/storage, persistent
// across restarts. A single blob must fit in one block: CAS blocks are 4 GiB / (4 + 8 + 2 + 2) = 256 MiB.
local cluster = import 'cluster.libsonnet';

local localStore(dir, blocksBytes, mapBytes, old, current, new, spare) = {
  'local': {
    keyLocationMapOnBlockDevice: {
      file: { path: cluster.state + '/storage/' + dir + '/key_location_map', sizeBytes: mapBytes },
    },
    keyLocationMapMaximumGetAttempts: 32,
    keyLocationMapMaximumPutAttempts: 64,
    oldBlocks: old,
    currentBlocks: current,
    newBlocks: new,
    blocksOnBlockDevice: {
      source: { file: { path: cluster.state + '/storage/' + dir + '/blocks', sizeBytes: blocksBytes } },
      spareBlocks: spare,
    },
    persistent: {
      stateDirectoryPath: cluster.state + '/storage/' + dir + '/persistent_state',
      minimumEpochInterval: '60s',
    },
  },
};

{
  grpcServers: [cluster.grpcServer(cluster.ports.storage)],
  maximumMessageSizeBytes: cluster.maximumMessageSizeBytes,
  contentAddressableStorage: {
    backend: localStore('cas', 4 * 1024 * 1024 * 1024, 64 * 1024 * 1024, 4, 8, 2, 2),
    getAuthorizer: { allow: {} },
    putAuthorizer: { allow: {} },
    findMissingAuthorizer: { allow: {} },
  },
  actionCache: {
    backend: localStore('ac', 64 * 1024 * 1024, 4 * 1024 * 1024, 4, 8, 1, 2),
    getAuthorizer: { allow: {} },
    putAuthorizer: { allow: {} },
  },
}
