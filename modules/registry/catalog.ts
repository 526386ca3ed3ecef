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
import { mkdirSync, readdirSync, readFileSync, writeFileSync, renameSync } from "fs";
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
    if (seen.has(digest)) return;
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

  /** Published runs, sorted by run_id. */
  runs(): { run_id: string; pipeline: string; manifest_digest: string }[] {
    return this.db.prepare("SELECT run_id, pipeline, manifest_digest FROM runs ORDER BY run_id").all() as never;
  }
}
