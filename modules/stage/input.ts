// Opening an upstream stage's product: the one way a stage reads its inputs. The product manifest is checked
// against the upstream StageManifest's listing (digest and size) and its schema name, decoded strictly
// (modules/manifest `openArtifact`), and every file read through the returned Artifact is verified the same way.
// Errors carry the codes ARTIFACT_MISSING / ARTIFACT_INTEGRITY / ARTIFACT_SCHEMA / ARTIFACT_VERSION, name the upstream
// stage and the input slot, and say how to fix it.

import * as path from "path";

import { ARTIFACT_SCHEMA, openArtifact } from "@nexa/modules/manifest";
import type { Artifact, ArtifactOrigin, Contract } from "@nexa/modules/manifest";
import { ManifestError } from "@nexa/modules/monitoring";

import type { StageInput } from "./runtime";

/** How errors about `input`'s files name their producer, and the fix. */
export function inputOrigin(input: StageInput): ArtifactOrigin {
  const upstream = input.manifest.stageName;
  return {
    source: `upstream stage "${upstream}" (input ${input.slot})`,
    fix: `rebuild stage "${upstream}" (\`bazel build\` its target; after \`bazel clean\` when its outputs were modified in place)`,
    context: { upstream, slot: input.slot },
  };
}

/** How errors name the product file: "<slot> input <file>". */
function inputDisplay(input: StageInput): string {
  return `${input.slot} input ${path.basename(input.productPath)}`;
}

/** Opens `input`'s product as `contract`, verified against the upstream StageManifest. */
export async function openInput<T>(input: StageInput, contract: Contract<T>): Promise<Artifact<T>> {
  const origin = inputOrigin(input);
  const display = inputDisplay(input);
  const stageManifest = `${input.slot} input stage manifest (${input.manifest.stageName})`;
  const index = input.manifest.outputs.findIndex(
    (o) => o.schemaName !== "" && path.join(input.dataDir, o.path) === input.productPath,
  );
  if (input.productSchema !== contract.name) {
    throw new ManifestError(
      ARTIFACT_SCHEMA,
      `${display} (from ${origin.source}) is a ${input.productSchema}, expected ${contract.name}`,
      {
        context: {
          ...origin.context,
          source: origin.source,
          file: stageManifest,
          jsonPath: `$.outputs[${index}].schemaName`,
          expected: contract.name,
          actual: input.productSchema,
        },
        hint: `wire a stage that produces ${contract.name} into \`${input.slot}\` in the pipeline's BUILD file`,
      },
    );
  }
  return openArtifact(input.productPath, contract, {
    origin,
    display,
    listed: { ref: input.manifest.outputs[index], at: { file: stageManifest, jsonPath: `$.outputs[${index}]` } },
  });
}
