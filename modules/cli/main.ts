// nexa: the operator's command (see commands.ts for the commands and exit codes).
import { runNexa } from "./commands";

runNexa(process.argv.slice(2), {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  stderrIsTTY: process.stderr.isTTY === true,
}).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`nexa: ${String(err)}\n`);
    process.exit(4);
  },
);
