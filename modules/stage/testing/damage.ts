/// <reference types="jest" />
// The one fixture for damaged upstream artifacts, shared by every stage kind's integration test: damage a file an
// upstream stage listed (flip a byte, truncate it, remove it), run the stage, and check the error with
// `expectDamagedUpstream` (or do all three with `expectDamageReported`): every stage must give the same code and the
// same message shape, naming the file, where it is listed, the upstream stage and its input slot, and the fix.

import { readFileSync, rmSync, truncateSync, writeFileSync } from "fs";
import * as path from "path";

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

/**
 * Damages `d.path` in the data directory `<dir>/<d.upstream>` of the upstream stage (the workspace layout of
 * workspace.ts), then runs `stage` and asserts that it fails with the one error shape of `d`.
 */
export async function expectDamageReported(
  dir: string,
  d: DamagedUpstream,
  stage: () => Promise<unknown>,
): Promise<void> {
  damageFile(path.join(dir, d.upstream, d.path), d.how);
  expectDamagedUpstream(await stage().catch((e) => e), d);
}

/** Every damage, in the order each stage kind's test runs them. */
export const DAMAGES: readonly Damage[] = ["flip", "truncate", "remove"];

/** A file of an upstream stage to damage, and the run of the stage under test that must report it. */
export interface DamageCase<W> {
  upstream: string;
  slot: string;
  path: string;
  run(w: W): Promise<unknown>;
}

/**
 * Declares the damaged-upstream test of a stage kind, one jest test per damage: in a fresh workspace from `setup`,
 * each case in turn damages its file and expects its run to fail with the one error shape (`expectDamageReported`).
 */
export function itReportsDamagedUpstream<W extends { dir: string }>(
  setup: () => Promise<W>,
  cases: ReadonlyArray<DamageCase<W>>,
): void {
  it.each(DAMAGES)("reports damaged upstream files the way every stage does (%s)", async (how) => {
    const w = await setup();
    for (const { run, ...file } of cases) await expectDamageReported(w.dir, { ...file, how }, () => run(w));
  });
}
