// `nexa new experiment <name> --owner WHO --expires YYYY-MM-DD --question "…"`: time-boxed work under
// experiments/<name>/ (POLICY.md §6): EXPERIMENT.md with its owner, expiry and question (the header `nexa lint`
// checks, policy.ts checkExperiment), a README whose first line is the question and an empty BUILD.bazel. Refused
// (exit 2, nothing written) when an answer fails: a bad or catch-all name, no owner, an expiry that is not a date,
// already past or more than 180 days out; exit 3 when the experiment exists.
import { existsSync, mkdirSync, writeFileSync } from "fs";
import * as path from "path";

import type { Command } from "commander";

import { NexaError } from "@nexa/modules/monitoring";

import { printJson, UsageError } from "./context";
import type { CommandContext } from "./context";
import { checkExperiment, checkPackageNames } from "./policy/policy";
import { findWorkspace } from "./run_pipeline";

/** The longest time box an experiment gets before it must graduate or go (monthly pruning keeps it short). */
export const MAX_EXPERIMENT_DAYS = 180;

const NAME = /^[a-z][a-z0-9_]{1,40}$/;

/** The `new` command group (`nexa new pipeline` creates it; created here when absent). */
export function newGroup(program: Command): Command {
  return program.commands.find((c) => c.name() === "new") ?? program.command("new").description("scaffold new work");
}

/** Refuses a module or experiment name that is malformed or a catch-all (usage error naming the fix). */
export function checkName(name: string, what: string): void {
  if (!NAME.test(name)) {
    throw new UsageError("CLI_BAD_NAME", `${what} name "${name}" is not lowercase letters, digits and _`, {
      hint: "e.g. long_context (2 to 41 characters, starting with a letter)",
    });
  }
  const bad = checkPackageNames([name]);
  if (bad.length > 0) {
    throw new UsageError("CLI_BAD_NAME", `${what} name "${name}" is a catch-all`, {
      hint: "name it after its one responsibility (POLICY.md §3: no utils/common/helpers/misc/shared)",
    });
  }
}

function daysBetween(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000);
}

export function register(program: Command, ctx: CommandContext): void {
  newGroup(program)
    .command("experiment <name>")
    .description("scaffold time-boxed work under experiments/<name>/ (owner, expiry, question)")
    .requiredOption("--owner <who>", "who answers for it (a name or a team)")
    .requiredOption("--expires <date>", `YYYY-MM-DD, within ${MAX_EXPERIMENT_DAYS} days`)
    .requiredOption("--question <sentence>", "the one question it answers (its purpose)")
    .option("--json", "print the files written as JSON")
    .action((name: string, opts: { owner: string; expires: string; question: string; json?: boolean }) => {
      checkName(name, "experiment");
      const today = ctx.env.NEXA_TODAY ?? new Date().toISOString().slice(0, 10);
      const owner = opts.owner.trim();
      const question = opts.question.trim().replace(/\s+/g, " ");
      const text = `owner: ${owner}\nexpires: ${opts.expires}\nquestion: ${question}\n`;
      const problems = checkExperiment(`experiments/${name}`, text, today).map((v) => v.message);
      if (problems.length === 0 && daysBetween(today, opts.expires) > MAX_EXPERIMENT_DAYS) {
        problems.push(`--expires ${opts.expires} is more than ${MAX_EXPERIMENT_DAYS} days away`);
      }
      if (problems.length > 0) {
        throw new UsageError("CLI_EXPERIMENT_REFUSED", `experiment ${name} refused: ${problems.join("; ")}`, {
          hint: `give --owner, --question and an --expires date after ${today} and within ${MAX_EXPERIMENT_DAYS} days`,
        });
      }
      const workspace = findWorkspace(ctx.env);
      const dir = path.join(workspace, "experiments", name);
      if (existsSync(dir)) {
        throw new NexaError("CLI_EXISTS", `experiments/${name} already exists`, {
          context: { file: dir },
          hint: "choose another name, or edit its EXPERIMENT.md",
        });
      }
      const files: [string, string][] = [
        ["EXPERIMENT.md", text],
        [
          "README.md",
          `${question}\n\n# experiments/${name}\n\n- **Owner:** ${owner}; **expires:** ${opts.expires} (then it graduates into a module or is deleted)\n` +
            "- **Inputs:** what it reads, declared in BUILD.bazel.\n- **Outputs:** the answer to its question.\n",
        ],
        [
          "BUILD.bazel",
          `# experiments/${name}: ${question}\n# Time-boxed (EXPERIMENT.md); nothing outside experiments/ may depend on it.\n`,
        ],
      ];
      mkdirSync(dir, { recursive: true });
      for (const [f, body] of files) writeFileSync(path.join(dir, f), body);
      const written = files.map(([f]) => `experiments/${name}/${f}`);
      if (opts.json) printJson(ctx, { schemaVersion: 1, files: written });
      else ctx.io.out(written.map((f) => `wrote ${f}`).join("\n") + "\n");
    });
}
