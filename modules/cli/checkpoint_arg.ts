// A command's checkpoint argument: a checkpoint directory, or a registry reference (run id, RUN:STAGE, checkpoint
// digest) checked out of $NEXA_HOME (modules/registry checkout.ts).
import { CONTRACTS } from "@nexa/modules/manifest";
import { Catalog, LocalStore, resolveProductArg } from "@nexa/modules/registry";
import type { CheckedOut } from "@nexa/modules/registry";

import type { CommandContext } from "./context";

export function checkpointArg(ctx: CommandContext, arg: string): Promise<{ dir: string; checkout: CheckedOut | null }> {
  return resolveProductArg(
    arg,
    CONTRACTS.CheckpointManifest.name,
    () => new Catalog(new LocalStore(ctx.home())),
    (a) => ctx.userPath(a),
  );
}
