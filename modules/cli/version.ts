// `nexa --version`: the package version (package.json, checked by commands.test.ts) and the source revision of the
// checkout it runs in, when git can tell.
import { codeRevision } from "./publish";

/** The version in package.json (kept equal by a test: a bundle has no package.json to read). */
export const PACKAGE_VERSION = "0.1.0";

export function versionString(env: Record<string, string | undefined>): string {
  const revision = codeRevision(env.BUILD_WORKSPACE_DIRECTORY ?? env.NEXA_WORKSPACE ?? process.cwd());
  return revision === "unknown" ? `nexa ${PACKAGE_VERSION}` : `nexa ${PACKAGE_VERSION} (${revision})`;
}
