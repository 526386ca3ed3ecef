#!/usr/bin/env bash
# Stands in for //pipelines:golden until its stages exist; never reports a run that did not happen.
cat >&2 <<'MSG'
golden: the golden pipeline (data -> distill -> pack -> train -> eval) is not built yet.
  What exists: the offline build (tools/), the module skeleton and the governance tests (npm test).
  What is missing: the stage rule and the data, distill, pack, train and eval stages (see pipelines/README.md).
MSG
exit 2
