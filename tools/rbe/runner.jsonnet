// bb_runner: runs the commands bb_worker hands it over a unix socket, in the worker's build directory. It passes
// only the action's environment (plus the worker's environmentVariables): no HOME, no inherited PATH.
local cluster = import 'cluster.libsonnet';

{
  buildDirectoryPath: cluster.state + '/worker/build',
  grpcServers: [{
    listenPaths: [cluster.state + '/worker/runner.sock'],
    authenticationPolicy: { allow: {} },
  }],
}
