// `nexa rebuild-index`: re-derive the SQLite index from the stored manifests and the invocation journal.
import type { Command } from "commander";

import { withCatalog } from "./context";
import type { CommandContext } from "./context";

export function register(program: Command, ctx: CommandContext): void {
  program
    .command("rebuild-index")
    .description("re-derive the SQLite index from the stored manifests")
    .action(() => withCatalog(ctx, (c) => c.rebuild()));
}
