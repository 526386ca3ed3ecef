// `nexa verify <digest>`: re-hash a stored blob against its digest.
import type { Command } from "commander";

import { LocalStore } from "@nexa/modules/registry";

import { digestArg } from "./context";
import type { CommandContext } from "./context";

export function register(program: Command, ctx: CommandContext): void {
  program
    .command("verify")
    .description("re-hash a stored blob against its digest")
    .argument("<digest>", 'the blob\'s digest, "sha256:<64 hex>"')
    .action(async (digest: string) => {
      const bytes = await new LocalStore(ctx.home()).get(digestArg(digest));
      ctx.io.out(`${digest}: ok (${bytes.length} bytes)\n`);
    });
}
