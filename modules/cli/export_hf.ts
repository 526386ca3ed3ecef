// `nexa export hf <checkpoint> <dir>`: a checkpoint directory in the Hugging Face transformers GPT-2 layout
// (modules/checkpoint hf_export.ts does the conversion).
import type { Command } from "commander";

import { exportHf, openCheckpointDir } from "@nexa/modules/checkpoint";

import { checkpointArg } from "./checkpoint_arg";
import type { CommandContext } from "./context";

export function register(program: Command, ctx: CommandContext): void {
  const exportCmd = program.command("export").description("export a checkpoint to another framework's layout");
  exportCmd
    .command("hf")
    .description("write a checkpoint directory as a Hugging Face transformers GPT-2 model directory")
    .argument(
      "<checkpoint>",
      "a checkpoint directory (a train stage's output: checkpoint.json), a run id (RUN:STAGE picks the stage) or a checkpoint digest",
    )
    .argument("<dir>", "the directory to create (absent or empty); written beside it first, then renamed")
    .action(async (checkpoint: string, dir: string) => {
      const { dir: from, checkout } = await checkpointArg(ctx, checkpoint);
      const ckpt = await openCheckpointDir(from);
      const out = ctx.userPath(dir);
      const files = await exportHf(ckpt, out, { runId: checkout?.runId ?? undefined });
      ctx.io.out(`${ckpt.ref.digest} -> ${out}\n${files.map((f) => `  ${f}\n`).join("")}`);
    });
}
