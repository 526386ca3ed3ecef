// `nexa push <run> [--remote URL]` and `nexa pull <run id> [--remote URL]`: a published run shared through a remote
// HTTP CAS (the team's bazel-remote, which also caches the builds); modules/registry sync.ts moves the blobs.
import type { Command } from "commander";

import { HttpStore, pullRun, pushRun } from "@nexa/modules/registry";
import type { SyncResult } from "@nexa/modules/registry";

import { printJson, UsageError, withCatalog, withJson } from "./context";
import type { CommandContext } from "./context";

function remoteOf(ctx: CommandContext, flag: string | undefined): HttpStore {
  const url = flag ?? ctx.env.NEXA_REMOTE;
  if (url === undefined || url === "") {
    throw new UsageError("CLI_NO_REMOTE", "no remote store: give --remote URL or set $NEXA_REMOTE", {
      hint: "e.g. --remote http://127.0.0.1:9090 (tools/rbe/cache.sh up starts one on loopback)",
    });
  }
  return new HttpStore(url);
}

function report(ctx: CommandContext, verb: string, r: SyncResult, json: boolean | undefined): void {
  if (json) {
    printJson(ctx, { schemaVersion: 1, ...r });
    return;
  }
  ctx.io.out(
    `${verb} run ${r.runId}: ${r.blobs} blobs, ${r.copied} copied (${r.bytes} bytes), run manifest ${r.runManifest}\n`,
  );
}

export function register(program: Command, ctx: CommandContext): void {
  withJson(
    program
      .command("push")
      .description("upload a published run (files, configs, manifests) to a remote HTTP CAS")
      .argument("<run>", "run id or a unique prefix of one (see `nexa runs`)")
      .option("--remote <url>", "the remote store, e.g. http://127.0.0.1:9090 (or $NEXA_REMOTE)"),
  ).action((run: string, opts: { remote?: string; json?: boolean }) =>
    withCatalog(ctx, async (c) => report(ctx, "pushed", await pushRun(c, remoteOf(ctx, opts.remote), run), opts.json)),
  );
  withJson(
    program
      .command("pull")
      .description("download a run pushed to a remote HTTP CAS into this registry")
      .argument("<run>", "the full run id (64 hex)")
      .option("--remote <url>", "the remote store, e.g. http://127.0.0.1:9090 (or $NEXA_REMOTE)"),
  ).action((run: string, opts: { remote?: string; json?: boolean }) =>
    withCatalog(ctx, async (c) => report(ctx, "pulled", await pullRun(c, remoteOf(ctx, opts.remote), run), opts.json)),
  );
}
