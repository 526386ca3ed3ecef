// Test helper: one nexa command line run in-process with captured streams.
import { runNexa } from "../commands";

/** Runs `nexa <args>` with `env` as its environment; resolves to the exit code and what it wrote. */
export async function nexa(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await runNexa(args, { out: (t) => (out += t), err: (t) => (err += t), env });
  return { code, out, err };
}
