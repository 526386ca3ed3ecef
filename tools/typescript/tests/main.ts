// A bundled node tool proving ts_binary: prints a greeting for each argument.
import { makeGreeting, renderGreeting } from "./index";

const names = process.argv.slice(2);
if (names.length === 0) {
  process.stderr.write("usage: greet NAME...\n");
  process.exit(2);
}
for (const n of names) process.stdout.write(renderGreeting(makeGreeting(n)) + "\n");
