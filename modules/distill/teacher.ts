// The teacher: the checkpoint directory of a train stage wired to the `teacher` input, read and loaded through
// modules/checkpoint (weights and tokenizer verified). The checkpoint manifest's own digest is the teacher's identity
// in every distilled record's provenance; the config may pin it.

import { Checkpoint, loadCheckpoint } from "@nexa/modules/checkpoint";
import type { LoadedCheckpoint } from "@nexa/modules/checkpoint";
import { CONTRACTS } from "@nexa/modules/manifest";
import { ConfigError } from "@nexa/modules/monitoring";
import type { StageContext } from "@nexa/modules/stage";
import type { DistillConfig } from "@nexa/proto/nexa/v1/distill";

/** A loaded teacher (call free() when done). */
export interface Teacher extends LoadedCheckpoint {
  /** Upstream stage name, e.g. "teacher" (the teacher's SourceLineage uri). */
  stageName: string;
}

/**
 * Loads the teacher wired to `teacher`. `expectedDigest` (config teacher.checkpoint.digest) must be "" or equal the
 * checkpoint manifest's digest.
 */
export async function loadTeacher(ctx: StageContext<DistillConfig>, expectedDigest: string): Promise<Teacher> {
  const input = ctx.input("teacher");
  const checkpoint = new Checkpoint(await ctx.open("teacher", CONTRACTS.CheckpointManifest));
  const digest = checkpoint.ref.digest;
  if (expectedDigest !== "" && expectedDigest !== digest) {
    throw new ConfigError(
      "DISTILL_TEACHER_MISMATCH",
      `the config names teacher checkpoint ${expectedDigest}, but the checkpoint wired to \`teacher\` (stage ${input.manifest.stageName}) is ${digest}`,
      {
        context: {
          file: ctx.configFile,
          jsonPath: "$.teacher.checkpoint.digest",
          expected: expectedDigest,
          actual: digest,
        },
        hint: `set "digest": "${digest}", or leave the digest empty to use whatever checkpoint is wired to \`teacher\``,
      },
    );
  }
  const loaded = await loadCheckpoint(checkpoint, { threads: ctx.threads });
  return { ...loaded, stageName: input.manifest.stageName };
}
