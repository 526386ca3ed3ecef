// nexa: the operator's command (see commands.ts for the commands). Exit codes: 0 ok, 1 rubric failed, 2 error.
import { formatError } from "@nexa/modules/monitoring";

import { runNexa } from "./commands";

runNexa(process.argv.slice(2), { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) }).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`nexa: ${formatError(err)}\n`);
    process.exit(2);
  },
);
