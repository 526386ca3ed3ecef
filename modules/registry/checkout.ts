// Checking a published product out of the registry: `RUN[:STAGE]` (a run id or unique prefix, and the stage whose
// product is wanted) or the digest of a product manifest names one stage; that stage's output files are copied out
// of the CAS (each re-hashed on the way) into $NEXA_HOME/checkouts/<product hex>/, the same directory the stage
// wrote. The directory is content-addressed: it is written beside its final name and renamed, so it is complete or
// absent, and a second checkout of the same product reuses it.

import { existsSync, mkdirSync, renameSync, rmSync } from "fs";
import { randomBytes } from "crypto";
import { dirname, isAbsolute, join, normalize, sep } from "path";

import { CONTRACTS, digestHex, isDigest } from "@nexa/modules/manifest";
import { RegistryError } from "@nexa/modules/monitoring";
import type { StageManifest } from "@nexa/proto/nexa/v1/stage";

import type { Catalog } from "./catalog";

/** What a checkout materialised. */
export interface CheckedOut {
  /** The directory holding the stage's output files (the product manifest among them). */
  dir: string;
  /** The product manifest's digest and its file name inside `dir`. */
  digest: string;
  file: string;
  /** The stage that produced it, and the newest published run that includes that stage (null when none does). */
  stage: string;
  stageId: string;
  runId: string | null;
}

/** The directory of checked-out products under a registry home. */
export const CHECKOUTS_DIR = "checkouts";

interface Candidate {
  stage: string;
  stageId: string;
  manifest: StageManifest;
  product: { digest: string; path: string };
}

function productOf(stage: string, manifest: StageManifest, schemaName: string): Candidate | undefined {
  const p = manifest.outputs.find((o) => o.schemaName === schemaName);
  return p ? { stage, stageId: manifest.stageId, manifest, product: { digest: p.digest, path: p.path } } : undefined;
}

/** A stage output path, refused unless it stays inside the checkout directory. */
function safeRelative(path: string, stage: string): string {
  const n = normalize(path);
  if (path === "" || isAbsolute(path) || n === ".." || n.startsWith(`..${sep}`)) {
    throw new RegistryError("REGISTRY_BAD_OUTPUT_PATH", `stage ${stage} lists an output path ${JSON.stringify(path)}`, {
      context: { stage, path },
      hint: "stage manifests list paths relative to the stage's output directory; republish the run",
    });
  }
  return n;
}

/**
 * The stage `ref` names whose product has contract `schemaName` (e.g. "nexa.v1.CheckpointManifest"). `ref` is a
 * product digest, a run id (or unique prefix) when the run has exactly one such stage, or `RUN:STAGE`.
 */
async function findStage(
  catalog: Catalog,
  ref: string,
  schemaName: string,
): Promise<Candidate & { runId: string | null }> {
  const what = schemaName.replace(/^nexa\.v1\./, "");
  if (isDigest(ref)) {
    for (const row of catalog.stagesOf(ref)) {
      const manifest = await catalog.readMessage(CONTRACTS.StageManifest, row.manifest_digest);
      const c = productOf(row.stage_name, manifest, schemaName);
      if (c && c.product.digest === ref) return { ...c, runId: catalog.runsWithStage(c.stageId)[0]?.run_id ?? null };
    }
    throw new RegistryError("REGISTRY_UNKNOWN_PRODUCT", `no published stage has ${ref} as its ${what}`, {
      context: { digest: ref, schema: schemaName, registry: catalog.store.home },
      hint: `pass the digest of a published ${what} (\`nexa show <run> --json\`: stages[].product.digest), or a run id`,
    });
  }
  const colon = ref.indexOf(":");
  const [runRef, stageName] = colon < 0 ? [ref, undefined] : [ref.slice(0, colon), ref.slice(colon + 1)];
  const row = catalog.resolveRun(runRef);
  const run = await catalog.readMessage(CONTRACTS.RunManifest, row.manifest_digest);
  const candidates: Candidate[] = [];
  for (const rs of run.stages) {
    const manifest = await catalog.readMessage(CONTRACTS.StageManifest, rs.manifest!.digest);
    const c = productOf(rs.stageName, manifest, schemaName);
    if (c) candidates.push(c);
  }
  const names = candidates.map((c) => `${row.run_id.slice(0, 12)}:${c.stage}`);
  if (stageName !== undefined) {
    const c = candidates.find((x) => x.stage === stageName);
    if (c) return { ...c, runId: row.run_id };
    throw new RegistryError(
      "REGISTRY_UNKNOWN_STAGE",
      `run ${row.run_id.slice(0, 12)} has no stage ${JSON.stringify(stageName)} producing a ${what}`,
      {
        context: { run: row.run_id, stage: stageName, schema: schemaName },
        hint: names.length > 0 ? `use one of: ${names.join(", ")}` : `run ${row.run_id} produces no ${what}`,
      },
    );
  }
  if (candidates.length === 1) return { ...candidates[0], runId: row.run_id };
  throw new RegistryError(
    candidates.length === 0 ? "REGISTRY_NO_PRODUCT" : "REGISTRY_AMBIGUOUS_PRODUCT",
    candidates.length === 0
      ? `run ${row.run_id.slice(0, 12)} (${row.pipeline}) has no stage producing a ${what}`
      : `run ${row.run_id.slice(0, 12)} (${row.pipeline}) has ${candidates.length} stages producing a ${what}`,
    {
      context: { run: row.run_id, schema: schemaName },
      hint:
        candidates.length === 0
          ? "name a run whose pipeline trains a model (`nexa show <run>` lists its stages)"
          : `name the stage: ${names.join(", ")}`,
    },
  );
}

/**
 * Checks out the product `ref` names (see findStage) into $NEXA_HOME/checkouts/<hex>/ and returns where it is.
 * Every file is verified against its digest as it is copied; nothing partial is left under the final name.
 */
export async function checkoutProduct(catalog: Catalog, ref: string, schemaName: string): Promise<CheckedOut> {
  const found = await findStage(catalog, ref, schemaName);
  const root = join(catalog.store.home, CHECKOUTS_DIR);
  const dir = join(root, digestHex(found.product.digest));
  const result: CheckedOut = {
    dir,
    digest: found.product.digest,
    file: found.product.path,
    stage: found.stage,
    stageId: found.stageId,
    runId: found.runId,
  };
  if (existsSync(join(dir, found.product.path))) return result;
  const temp = join(root, `.${digestHex(found.product.digest).slice(0, 16)}.${randomBytes(6).toString("hex")}.partial`);
  mkdirSync(temp, { recursive: true });
  try {
    for (const o of found.manifest.outputs) {
      const rel = safeRelative(o.path, found.stage);
      mkdirSync(dirname(join(temp, rel)), { recursive: true });
      await catalog.store.getToFile(o.digest, join(temp, rel));
    }
    if (existsSync(dir)) rmSync(dir, { recursive: true, force: true }); // an older, incomplete checkout
    renameSync(temp, dir);
  } catch (err) {
    rmSync(temp, { recursive: true, force: true });
    throw err;
  }
  return result;
}

/**
 * A command-line product argument: a directory (`asPath` resolves it against the user's directory) as it is, else a
 * registry reference checked out (see findStage).
 */
export async function resolveProductArg(
  arg: string,
  schemaName: string,
  openCatalog: () => Catalog,
  asPath: (arg: string) => string = (a) => a,
): Promise<{ dir: string; checkout: CheckedOut | null }> {
  // an existing path, or one that can only be a path: the caller reports what is wrong with it
  if (existsSync(asPath(arg)) || arg.includes("/") || arg.startsWith(".")) return { dir: asPath(arg), checkout: null };
  if (!isDigest(arg) && !/^[0-9a-fA-F]{1,64}(:.+)?$/.test(arg)) {
    const what = schemaName.replace(/^nexa\.v1\./, "");
    throw new RegistryError("REGISTRY_NOT_FOUND", `${arg} is not a directory, a run id or a ${what} digest`, {
      context: { argument: arg },
      hint: `pass a stage output directory, a run id (\`nexa runs\`; RUN:STAGE picks a stage) or "sha256:<64 hex>"`,
    });
  }
  const catalog = openCatalog();
  try {
    const checkout = await checkoutProduct(catalog, arg, schemaName);
    return { dir: checkout.dir, checkout };
  } finally {
    catalog.close();
  }
}
