// `nexa export hf <checkpoint> <dir>`: a checkpoint directory in the Hugging Face transformers GPT-2 layout
// (modules/checkpoint hf_export.ts does the conversion).
import type { Command } from "commander";
import { existsSync } from "fs";

import { exportHf, openCheckpointDir } from "@nexa/modules/checkpoint";
import { isDigest } from "@nexa/modules/manifest";
import { NexaError } from "@nexa/modules/monitoring";

import type { CommandContext } from "./context";

export function register(program: Command, ctx: CommandContext): void {
  const exportCmd = program.command("export").description("export a checkpoint to another framework's layout");
  exportCmd
    .command("hf")
    .description("write a checkpoint directory as a Hugging Face transformers GPT-2 model directory")
    .argument("<checkpoint>", "a checkpoint directory (the output of a train or distill stage: checkpoint.json)")
    .argument("<dir>", "the directory to create (absent or empty); written beside it first, then renamed")
    .action(async (checkpoint: string, dir: string) => {
      if (isDigest(checkpoint) && !existsSync(ctx.userPath(checkpoint))) {
        throw new NexaError(
          "CLI_EXPORT_DIGEST",
          `export hf takes a checkpoint directory, not a digest (${checkpoint})`,
          {
            context: { digest: checkpoint },
            hint: "pass the train or distill stage's output directory (it holds checkpoint.json)",
          },
        );
      }
      const ckpt = await openCheckpointDir(ctx.userPath(checkpoint));
      const out = ctx.userPath(dir);
      const files = await exportHf(ckpt, out);
      ctx.io.out(`${ckpt.ref.digest} -> ${out}\n${files.map((f) => `  ${f}\n`).join("")}`);
    });
}
