// `bazel run //modules/inference:serve -- CHECKPOINT_DIR [flags]`: serves a checkpoint over the OpenAI-compatible
// API until SIGTERM (`npx nexa serve` is the same server behind the operator's command).
import { runServeCommand } from "./serve_command";

void runServeCommand(process.argv.slice(2));
