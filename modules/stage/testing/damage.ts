/// <reference types="jest" />
// The one fixture for damaged upstream artifacts, shared by every stage kind's integration test: damage a file an
// upstream stage listed (flip a byte, truncate it, remove it), run the stage, and check the error with
// `expectDamagedUpstream`: every stage must give the same code and the same message shape, naming the file, where it
// is listed, the upstream stage and its input slot, and the fix.

import { readFileSync, rmSync, truncateSync, writeFileSync } from "fs";

export type Damage = "flip" | "truncate" | "remove";

/** Damages `file` in place: `flip` changes its last byte (same size), `truncate` drops its last byte, `remove` deletes it. */
export function damageFile(file: string, how: Damage): void {
  if (how === "remove") {
    rmSync(file);
    return;
  }
  const bytes = readFileSync(file);
  if (bytes.length === 0) throw new Error(`cannot damage the empty file ${file}`);
  if (how === "truncate") {
    truncateSync(file, bytes.length - 1);
  } else {
    bytes[bytes.length - 1] ^= 0x01;
    writeFileSync(file, bytes);
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** What a damaged upstream file must be reported as. */
export interface DamagedUpstream {
  /** The upstream stage's name, e.g. "pack". */
  upstream: string;
  /** The input slot it is wired to, e.g. "packed". */
  slot: string;
  /** The damaged file, as its manifest lists it. */
  path: string;
  how: Damage;
}

/** Asserts the one error shape of a damaged upstream file (jest `expect`). */
export function expectDamagedUpstream(err: unknown, d: DamagedUpstream): void {
  const from = escapeRegExp(`${d.path} (from upstream stage "${d.upstream}" (input ${d.slot}))`);
  const damage =
    d.how === "remove"
      ? "is missing"
      : "is sha256:[0-9a-f]{64} \\(\\d+ bytes\\) but is listed as sha256:[0-9a-f]{64} \\(\\d+ bytes\\)";
  expect(err).toMatchObject({
    code: d.how === "remove" ? "ARTIFACT_MISSING" : "ARTIFACT_INTEGRITY",
    context: {
      upstream: d.upstream,
      slot: d.slot,
      path: d.path,
      ...(d.how === "remove" ? {} : { reason: d.how === "flip" ? "digest" : "size" }),
    },
    message: expect.stringMatching(new RegExp(`^[^:]+: \\$[^:]*: ${from} ${damage}$`)),
    hint: expect.stringContaining(`rebuild stage "${d.upstream}"`),
  });
}
