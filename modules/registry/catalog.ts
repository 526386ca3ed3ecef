// The registry catalog: an SQLite index (better-sqlite3) of artifacts, stages, runs, invocations and lineage
// edges, kept next to the CAS at $NEXA_HOME/index.sqlite.
//
// Everything in the index is derived from manifests stored in the CAS, starting from "roots": one file
// roots/<hex> per published manifest, holding its contract name. `rebuild()` drops the tables and re-derives
// them from the roots (and the invocations/ journal), and must equal the incrementally built index.
// Upserts are order-independent (max of values), so rebuild order cannot change the result.
//
// Lineage edges (parent → child):
//   contains  manifest → a file it lists (ArtifactRef with a path)
//   input     referenced upstream artifact (ArtifactRef without a path) → the manifest referring to it
//   derives   stage input manifest → stage output (from StageManifest)
//   config    stage config digest → stage output

import Database from "better-sqlite3";
import {
  copyFileSync,
  existsSync,
  linkSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from "fs";
import { join } from "path";

import type { RunManifest } from "@nexa/proto/nexa/v1/run";
import type { StageManifest } from "@nexa/proto/nexa/v1/stage";
import {
  contractByName,
  CONTRACTS,
  decodeManifest,
  digestHex,
  DIGEST_PREFIX,
  encodeMessageBytes,
} from "@nexa/modules/manifest";
import type { Contract } from "@nexa/modules/manifest";
import { RegistryError } from "@nexa/modules/monitoring";

import { LocalStore } from "./local_store";

// ----------------------------------------------------------------------------------------------------------
// schema

const SCHEMA = `
CREATE TABLE IF NOT EXISTS artifacts (digest TEXT PRIMARY KEY, size_bytes INTEGER NOT NULL, media_type TEXT NOT NULL, schema_name TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS stages (stage_id TEXT PRIMARY KEY, stage_name TEXT NOT NULL, module TEXT NOT NULL, manifest_digest TEXT NOT NULL, config_digest TEXT NOT NULL, code_revision TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (run_id TEXT PRIMARY KEY, pipeline TEXT NOT NULL, manifest_digest TEXT NOT NULL, code_revision TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS run_stages (run_id TEXT NOT NULL, position INTEGER NOT NULL, stage_id TEXT NOT NULL, PRIMARY KEY (run_id, position));
CREATE TABLE IF NOT EXISTS invocations (invocation_id TEXT PRIMARY KEY, run_id TEXT NOT NULL, started_at TEXT NOT NULL, status TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS edges (parent TEXT NOT NULL, child TEXT NOT NULL, kind TEXT NOT NULL, PRIMARY KEY (parent, child, kind));
CREATE INDEX IF NOT EXISTS edges_child ON edges (child);
`;
const TABLES = ["artifacts", "stages", "runs", "run_stages", "invocations", "edges"] as const;

/** One invocation of `bazel run` (random id; never inside an artifact). */
export interface InvocationRecord {
  invocationId: string;
  runId: string;
  /** ISO-8601 UTC start time. */
  startedAt: string;
  /** "succeeded" | "failed" | free text. */
  status: string;
  /** What each stage did in this invocation (journal only; display data, never part of an artifact). */
  stages?: InvocationStage[];
  /** ISO-8601 UTC time the publish finished. */
  finishedAt?: string;
}

/** One stage of an invocation: whether it was new in the registry, and how long its action ran (from its log). */
export interface InvocationStage {
  stage: string;
  status: "ran" | "cached";
  durationMs: number | null;
  /**
   * Where the publisher read the stage's outputs (absolute, symlinks resolved: Bazel's output tree), so `fsck
   * --repair` can restore a damaged blob from them while Bazel still has them. Absent in older records.
   */
  dataDir?: string;
  /** Where the publisher read the stage's manifest.json (as dataDir). */
  manifestPath?: string;
}

/** Why a run needs a blob: what the blob is to it (what `nexa publish` stored for the run, and `push` sends). */
export interface BlobReference {
  runId: string;
  pipeline: string;
  role: "run_manifest" | "stage_manifest" | "config" | "output";
  /** The stage the blob belongs to; null for the run manifest. */
  stage: string | null;
  /** The stage manifest listing an output (its digest); null for other roles. */
  stageManifest: string | null;
}

/** One indexed stage. */
export interface StageRow {
  stage_id: string;
  stage_name: string;
  module: string;
  manifest_digest: string;
  config_digest: string;
  code_revision: string;
}

/** One published run as the index lists it. */
export interface RunRow {
  run_id: string;
  pipeline: string;
  manifest_digest: string;
  code_revision: string;
  /** Start of the latest invocation that published it (ISO-8601 UTC); "" when the journal has none. */
  published_at: string;
}

export interface ArtifactRow {
  digest: string;
  size_bytes: number;
  media_type: string;
  schema_name: string;
}

interface RefLike {
  digest: string;
  sizeBytes: number;
  mediaType: string;
  schemaName: string;
  path: string;
}

/** ArtifactRefs inside a decoded message (any object with digest/sizeBytes/path fields). */
function collectRefs(message: unknown): RefLike[] {
  const out: RefLike[] = [];
  const walk = (value: unknown) => {
    if (Array.isArray(value)) value.forEach(walk);
    else if (typeof value === "object" && value !== null) {
      const o = value as Record<string, unknown>;
      if (typeof o.digest === "string" && typeof o.path === "string" && typeof o.sizeBytes === "number") {
        if (o.digest !== "") out.push(o as unknown as RefLike);
        return;
      }
      Object.values(o).forEach(walk);
    }
  };
  walk(message);
  return out;
}

// ----------------------------------------------------------------------------------------------------------
// catalog

export class Catalog {
  readonly db: Database.Database;
  private readonly rootsDir: string;
  private readonly invocationsDir: string;
  /** Manifests this catalog has indexed, with what they reference (blobs are immutable: indexing one again adds nothing). */
  private readonly indexed = new Set<string>();

  /** Opens (creating if needed) the catalog of `store` at <home>/index.sqlite. */
  constructor(
    readonly store: LocalStore,
    dbPath: string = join(store.home, "index.sqlite"),
  ) {
    mkdirSync(store.home, { recursive: true });
    this.rootsDir = join(store.home, "roots");
    this.invocationsDir = join(store.home, "invocations");
    try {
      this.db = new Database(dbPath);
      this.db.pragma("journal_mode = WAL");
      // The index is derived data (`rebuild` re-derives it from the roots and the journal): WAL's NORMAL mode keeps
      // it consistent through crashes without an fsync per transaction.
      this.db.pragma("synchronous = NORMAL");
      this.db.pragma("busy_timeout = 10000");
      this.db.exec(SCHEMA);
    } catch (err) {
      throw new RegistryError("REGISTRY_INDEX", `cannot open the registry index ${dbPath}`, {
        context: { path: dbPath },
        cause: err,
        hint: "the index is derived data: delete it and run `rebuild`",
      });
    }
  }

  close(): void {
    this.db.close();
  }

  // --------------------------------------------------------------------------------------------------------
  // publishing

  /** Stores a manifest (canonical bytes) in the CAS, records it as a root and indexes it. Returns its digest. */
  async publishManifest<T>(contract: Contract<T>, message: T): Promise<string> {
    const bytes = encodeMessageBytes(contract.codec, message);
    const { digest } = await this.store.put(bytes);
    mkdirSync(this.rootsDir, { recursive: true });
    const rootPath = join(this.rootsDir, digestHex(digest));
    writeFileSync(rootPath + ".tmp", contract.name + "\n");
    renameSync(rootPath + ".tmp", rootPath);
    await this.indexBlob(digest, contract.name, new Set());
    return digest;
  }

  /** Records an invocation in the journal (invocations/<id>.json) and the index. */
  recordInvocation(record: InvocationRecord): void {
    mkdirSync(this.invocationsDir, { recursive: true });
    const path = join(this.invocationsDir, `${record.invocationId}.json`);
    writeFileSync(path + ".tmp", JSON.stringify(record) + "\n");
    renameSync(path + ".tmp", path);
    this.insertInvocation(record);
  }

  private insertInvocation(r: InvocationRecord): void {
    this.db
      .prepare("INSERT OR REPLACE INTO invocations VALUES (?, ?, ?, ?)")
      .run(r.invocationId, r.runId, r.startedAt, r.status);
  }

  // --------------------------------------------------------------------------------------------------------
  // indexing (shared by publish and rebuild)

  private upsertArtifact(digest: string, size: number, mediaType: string, schemaName: string): void {
    this.db
      .prepare(
        `INSERT INTO artifacts VALUES (?, ?, ?, ?) ON CONFLICT(digest) DO UPDATE SET
      size_bytes = max(size_bytes, excluded.size_bytes), media_type = max(media_type, excluded.media_type),
      schema_name = max(schema_name, excluded.schema_name)`,
      )
      .run(digest, size, mediaType, schemaName);
  }

  private edge(parent: string, child: string, kind: string): void {
    this.db.prepare("INSERT OR IGNORE INTO edges VALUES (?, ?, ?)").run(parent, child, kind);
  }

  /** Indexes one manifest blob and, recursively, the manifests it references that the store holds. */
  private async indexBlob(digest: string, schemaName: string, seen: Set<string>): Promise<void> {
    if (seen.has(digest) || this.indexed.has(digest)) return;
    seen.add(digest);
    const contract = contractByName(schemaName);
    if (contract === undefined) {
      throw new RegistryError("REGISTRY_UNKNOWN_SCHEMA", `manifest ${digest} has unknown schema ${schemaName}`, {
        context: { digest, schema: schemaName },
        hint: "this registry is older than the manifest; upgrade NexaCompute",
      });
    }
    const bytes = await this.store.get(digest);
    const message = decodeManifest(contract, bytes, this.store.blobPath(digest));
    const refs = collectRefs(message);
    const pending: RefLike[] = [];
    this.db.transaction(() => {
      this.upsertArtifact(digest, bytes.length, "application/json", schemaName);
      for (const ref of refs) {
        this.upsertArtifact(ref.digest, ref.sizeBytes, ref.mediaType, ref.schemaName);
        if (ref.path !== "") this.edge(digest, ref.digest, "contains");
        else this.edge(ref.digest, digest, "input");
        if (ref.schemaName !== "") pending.push(ref);
      }
      if (contract.name === CONTRACTS.StageManifest.name) this.indexStage(digest, message as StageManifest);
      if (contract.name === CONTRACTS.RunManifest.name) this.indexRun(digest, message as RunManifest);
    })();
    for (const ref of pending) {
      if (await this.store.has(ref.digest)) await this.indexBlob(ref.digest, ref.schemaName, seen);
    }
    this.indexed.add(digest);
  }

  private indexStage(digest: string, stage: StageManifest): void {
    this.db
      .prepare("INSERT OR REPLACE INTO stages VALUES (?, ?, ?, ?, ?, ?)")
      .run(stage.stageId, stage.stageName, stage.module, digest, stage.configDigest, stage.codeRevision);
    for (const output of stage.outputs) {
      for (const input of stage.inputs) this.edge(input.digest, output.digest, "derives");
      this.edge(stage.configDigest, output.digest, "config");
    }
  }

  private indexRun(digest: string, run: RunManifest): void {
    this.db
      .prepare("INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?)")
      .run(run.runId, run.pipeline, digest, run.codeRevision);
    run.stages.forEach((s, i) =>
      this.db.prepare("INSERT OR REPLACE INTO run_stages VALUES (?, ?, ?)").run(run.runId, i, s.stageId),
    );
  }

  // --------------------------------------------------------------------------------------------------------
  // rebuild

  /** Drops every table and re-derives the index from the roots and the invocation journal. */
  async rebuild(): Promise<void> {
    this.db.transaction(() => TABLES.forEach((t) => this.db.exec(`DELETE FROM ${t}`)))();
    this.indexed.clear();
    const seen = new Set<string>();
    const roots = (() => {
      try {
        return readdirSync(this.rootsDir)
          .filter((n) => /^[0-9a-f]{64}$/.test(n))
          .sort();
      } catch {
        return [];
      }
    })();
    for (const hex of roots) {
      const schemaName = readFileSync(join(this.rootsDir, hex), "utf8").trim();
      await this.indexBlob(DIGEST_PREFIX + hex, schemaName, seen);
    }
    const journal = (() => {
      try {
        return readdirSync(this.invocationsDir)
          .filter((n) => n.endsWith(".json"))
          .sort();
      } catch {
        return [];
      }
    })();
    for (const name of journal) {
      this.insertInvocation(JSON.parse(readFileSync(join(this.invocationsDir, name), "utf8")) as InvocationRecord);
    }
  }

  /** Every table's rows, sorted: a stable snapshot to compare indexes. */
  dump(): Record<string, unknown[]> {
    const out: Record<string, unknown[]> = {};
    for (const table of TABLES) out[table] = this.db.prepare(`SELECT * FROM ${table} ORDER BY 1, 2, 3`).all();
    return out;
  }

  // --------------------------------------------------------------------------------------------------------
  // queries

  artifact(digest: string): ArtifactRow | undefined {
    return this.db.prepare("SELECT * FROM artifacts WHERE digest = ?").get(digest) as ArtifactRow | undefined;
  }

  /** Everything `digest` was derived from (transitively), sorted by digest. */
  ancestors(digest: string): string[] {
    return (
      this.db
        .prepare(
          `WITH RECURSIVE up(d) AS (
        SELECT parent FROM edges WHERE child = @d
        UNION SELECT e.parent FROM edges e JOIN up ON e.child = up.d)
      SELECT d FROM up WHERE d != @d ORDER BY d`,
        )
        .all({ d: digest }) as { d: string }[]
    ).map((r) => r.d);
  }

  /** Everything derived from `digest` (transitively), sorted by digest. */
  descendants(digest: string): string[] {
    return (
      this.db
        .prepare(
          `WITH RECURSIVE down(d) AS (
        SELECT child FROM edges WHERE parent = @d
        UNION SELECT e.child FROM edges e JOIN down ON e.parent = down.d)
      SELECT d FROM down WHERE d != @d ORDER BY d`,
        )
        .all({ d: digest }) as { d: string }[]
    ).map((r) => r.d);
  }

  /** The indexed stage with this id, if it was published before. */
  stage(stageId: string): { stage_id: string; stage_name: string; manifest_digest: string } | undefined {
    return this.db
      .prepare("SELECT stage_id, stage_name, manifest_digest FROM stages WHERE stage_id = ?")
      .get(stageId) as never;
  }

  /** The stage whose manifest is `digest`, else the stages whose manifests list `digest` as an output file. */
  stagesOf(digest: string): StageRow[] {
    const own = this.db.prepare("SELECT * FROM stages WHERE manifest_digest = ? ORDER BY stage_id").all(digest);
    if (own.length > 0) return own as StageRow[];
    return this.db
      .prepare(
        `SELECT DISTINCT s.* FROM stages s JOIN edges e ON e.parent = s.manifest_digest
        WHERE e.child = ? AND e.kind = 'contains' ORDER BY s.stage_name, s.stage_id`,
      )
      .all(digest) as StageRow[];
  }

  /** The runs that include stage `stageId`, newest publish first. */
  runsWithStage(stageId: string): RunRow[] {
    const ids = new Set(
      (this.db.prepare("SELECT run_id FROM run_stages WHERE stage_id = ?").all(stageId) as { run_id: string }[]).map(
        (r) => r.run_id,
      ),
    );
    return this.runs().filter((r) => ids.has(r.run_id));
  }

  /** Published runs, newest publish first (then by run_id). */
  runs(): RunRow[] {
    return this.db
      .prepare(
        `SELECT r.run_id, r.pipeline, r.manifest_digest, r.code_revision,
          coalesce((SELECT max(started_at) FROM invocations i WHERE i.run_id = r.run_id), '') AS published_at
        FROM runs r ORDER BY published_at DESC, r.run_id`,
      )
      .all() as RunRow[];
  }

  /**
   * Every blob a published run needs, with each run that needs it (from the index, so damaged blobs are still
   * accounted for): the run manifest, each stage manifest, each stage's stored config and output files. Sorted by
   * digest; a blob shared by runs or stages lists every reference.
   */
  runReferences(): Map<string, BlobReference[]> {
    const out = new Map<string, BlobReference[]>();
    const add = (digest: string, ref: BlobReference) => {
      const list = out.get(digest) ?? [];
      if (!list.some((r) => JSON.stringify(r) === JSON.stringify(ref))) list.push(ref);
      out.set(digest, list);
    };
    const stageRows = this.db.prepare(
      `SELECT s.stage_name, s.manifest_digest, s.config_digest FROM run_stages rs JOIN stages s ON s.stage_id = rs.stage_id
        WHERE rs.run_id = ? ORDER BY rs.position`,
    );
    const outputs = this.db.prepare("SELECT child FROM edges WHERE parent = ? AND kind = 'contains' ORDER BY child");
    const runs = this.db.prepare("SELECT run_id, pipeline, manifest_digest FROM runs ORDER BY run_id").all() as {
      run_id: string;
      pipeline: string;
      manifest_digest: string;
    }[];
    for (const run of runs) {
      const base = { runId: run.run_id, pipeline: run.pipeline };
      add(run.manifest_digest, { ...base, role: "run_manifest", stage: null, stageManifest: null });
      const rows = stageRows.all(run.run_id) as {
        stage_name: string;
        manifest_digest: string;
        config_digest: string;
      }[];
      for (const s of rows) {
        add(s.manifest_digest, { ...base, role: "stage_manifest", stage: s.stage_name, stageManifest: null });
        if (this.rootSchema(s.config_digest) !== undefined) {
          add(s.config_digest, { ...base, role: "config", stage: s.stage_name, stageManifest: null });
        }
        for (const { child } of outputs.all(s.manifest_digest) as { child: string }[]) {
          add(child, { ...base, role: "output", stage: s.stage_name, stageManifest: s.manifest_digest });
        }
      }
    }
    return new Map([...out.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }

  /** The digests of every root (each published manifest and stored config), sorted. */
  roots(): string[] {
    try {
      return readdirSync(this.rootsDir)
        .filter((n) => /^[0-9a-f]{64}$/.test(n))
        .sort()
        .map((hex) => DIGEST_PREFIX + hex);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw err;
    }
  }

  /** Removes the root of a deleted manifest or config (gc), so `rebuild()` no longer looks for it. */
  removeRoot(digest: string): boolean {
    try {
      unlinkSync(join(this.rootsDir, digestHex(digest)));
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
      throw new RegistryError("REGISTRY_IO", `cannot remove the root of ${digest}`, {
        context: { path: join(this.rootsDir, digestHex(digest)) },
        cause: err,
      });
    }
  }

  /** The runs whose id starts with `prefix` (lowercase hex), newest first. */
  runsWithPrefix(prefix: string): RunRow[] {
    return this.runs().filter((r) => r.run_id.startsWith(prefix));
  }

  /**
   * The one run `idOrPrefix` names (a run id or a unique prefix of one). Throws a RegistryError naming the
   * candidates when it names none or several.
   */
  resolveRun(idOrPrefix: string): RunRow {
    const prefix = idOrPrefix.toLowerCase();
    if (!/^[0-9a-f]{1,64}$/.test(prefix)) {
      throw new RegistryError(
        "REGISTRY_BAD_RUN_ID",
        `"${idOrPrefix}" is not a run id (64 hex characters or a prefix)`,
        {
          context: { run: idOrPrefix },
          hint: "copy a run id from `nexa runs`",
        },
      );
    }
    const found = this.runsWithPrefix(prefix);
    if (found.length === 1) return found[0];
    if (found.length === 0) {
      throw new RegistryError("REGISTRY_UNKNOWN_RUN", `no published run has an id starting with ${prefix}`, {
        context: { run: idOrPrefix, registry: this.store.home },
        hint: "list the runs of this registry with `nexa runs` (or choose another with --home / $NEXA_HOME)",
      });
    }
    throw new RegistryError(
      "REGISTRY_AMBIGUOUS_RUN",
      `run id prefix ${prefix} matches ${found.length} runs: ${found.map((r) => r.run_id.slice(0, 16)).join(", ")}`,
      { context: { run: idOrPrefix }, hint: "give more characters of the run id" },
    );
  }

  /** The journal records of `runId`'s invocations, oldest first (a missing or unreadable record is skipped). */
  invocations(runId: string): InvocationRecord[] {
    const ids = this.db
      .prepare("SELECT invocation_id FROM invocations WHERE run_id = ? ORDER BY started_at, invocation_id")
      .all(runId) as { invocation_id: string }[];
    const out: InvocationRecord[] = [];
    for (const { invocation_id } of ids) {
      try {
        out.push(
          JSON.parse(readFileSync(join(this.invocationsDir, `${invocation_id}.json`), "utf8")) as InvocationRecord,
        );
      } catch {
        // the journal is display data: a damaged record loses its timings, never the run
      }
    }
    return out;
  }

  /** Decodes the manifest (or config) stored at `digest` as `contract`, verified against its digest. */
  async readMessage<T>(contract: Contract<T>, digest: string): Promise<T> {
    const bytes = await this.store.get(digest);
    return decodeManifest(contract, bytes, this.store.blobPath(digest));
  }

  /** The contract name a root records for `digest` (a published manifest or config), if any. */
  rootSchema(digest: string): string | undefined {
    try {
      return readFileSync(join(this.rootsDir, digestHex(digest)), "utf8").trim();
    } catch {
      return undefined;
    }
  }

  /**
   * Keeps a run's HTML report at reports/<run_id>.html: a hard link to the stored blob `digest` (a copy where
   * links are refused), so the report outlives the build tree. Returns its path.
   */
  async storeReport(runId: string, digest: string): Promise<string> {
    await this.store.get(digest); // verified: the report must be the stored bytes
    const dir = join(this.store.home, "reports");
    mkdirSync(dir, { recursive: true });
    const target = join(dir, `${runId}.html`);
    const blob = this.store.blobPath(digest);
    if (existsSync(target) && statSync(target).ino === statSync(blob).ino) return target;
    const tmp = `${target}.${process.pid}.tmp`;
    if (existsSync(tmp)) unlinkSync(tmp);
    try {
      linkSync(blob, tmp);
    } catch {
      copyFileSync(blob, tmp);
    }
    renameSync(tmp, target);
    return target;
  }

  /** Where storeReport keeps `runId`'s report, when it exists. */
  reportPath(runId: string): string | undefined {
    const p = join(this.store.home, "reports", `${runId}.html`);
    return existsSync(p) ? p : undefined;
  }
}
