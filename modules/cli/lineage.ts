// `nexa lineage <digest> [--format tree|mermaid|dot|json] [--descendants]`: the tree from an artifact (a stage
// output file or a stage manifest) back to the raw files it was made from (uri + digest), with every stage on the
// way (name, module, stage id), its config (digest, schema), its tools' digests, and the code revisions of the runs
// that include it. `--descendants` lists what derives from the digest instead.
import { Option } from "commander";
import type { Command } from "commander";

import { CONTRACTS } from "@nexa/modules/manifest";
import { RegistryError } from "@nexa/modules/monitoring";
import type { Catalog, StageRow } from "@nexa/modules/registry";
import type { DatasetManifest } from "@nexa/proto/nexa/v1/dataset";
import { sourceLineage_KindToJSON } from "@nexa/proto/nexa/v1/dataset";

import { digestArg, printJson, withCatalog } from "./context";
import type { CommandContext } from "./context";
import { short } from "./format";

export interface LineageNode {
  /** artifact | stage | config | tool | raw | source | revision */
  kind: string;
  label: string;
  digest?: string;
  children: LineageNode[];
}

const FORMATS = ["tree", "mermaid", "dot", "json"] as const;
type Format = (typeof FORMATS)[number];

async function stageNode(c: Catalog, row: StageRow, seen: Map<string, LineageNode>): Promise<LineageNode> {
  const known = seen.get(row.manifest_digest);
  if (known) return known;
  const m = await c.readMessage(CONTRACTS.StageManifest, row.manifest_digest);
  const node: LineageNode = {
    kind: "stage",
    label: `stage ${m.stageName} (${m.module}) id ${m.stageId.slice(0, 12)}`,
    digest: row.manifest_digest,
    children: [],
  };
  seen.set(row.manifest_digest, node);
  node.children.push({
    kind: "config",
    label: `config ${c.rootSchema(m.configDigest) ?? "(not stored)"}`,
    digest: m.configDigest,
    children: [],
  });
  for (const t of m.tools) {
    node.children.push({
      kind: "tool",
      label: `tool ${t.name}${t.version ? " " + t.version : ""}`,
      digest: t.digest || undefined,
      children: [],
    });
  }
  for (const input of m.inputs) {
    const up = c.stagesOf(input.digest).find((s) => s.manifest_digest === input.digest);
    if (up) {
      const child = await stageNode(c, up, seen);
      node.children.push({ kind: "input", label: `input ${input.path}`, children: [child] });
    } else {
      node.children.push({
        kind: "input",
        label: `input ${input.path} (not in the registry)`,
        digest: input.digest,
        children: [],
      });
    }
  }
  const product = m.outputs.find((o) => o.schemaName === CONTRACTS.DatasetManifest.name);
  if (product) {
    const d: DatasetManifest = await c.readMessage(CONTRACTS.DatasetManifest, product.digest);
    for (const s of d.sources) {
      const kind = sourceLineage_KindToJSON(s.kind);
      if (kind === "KIND_DATASET") continue; // an upstream dataset is an input stage above
      node.children.push({
        kind: kind === "KIND_RAW_FILE" ? "raw" : "source",
        label: `${kind === "KIND_RAW_FILE" ? "raw" : kind.replace(/^KIND_/, "").toLowerCase()} ${s.uri}`,
        digest: s.artifact?.digest || undefined,
        children: [],
      });
    }
  }
  return node;
}

/** The lineage tree of `digest` (a stage output or stage manifest); exit 3 when the registry has no such artifact. */
export async function lineageTree(c: Catalog, digest: string): Promise<LineageNode> {
  const stages = c.stagesOf(digest);
  if (stages.length === 0) {
    throw new RegistryError(
      "REGISTRY_UNKNOWN_ARTIFACT",
      `${digest} is not a stage output or stage manifest in this registry`,
      {
        context: { digest, registry: c.store.home },
        hint: "take a digest from `nexa show <run> --json` (stages[].manifestDigest, product.digest)",
      },
    );
  }
  const seen = new Map<string, LineageNode>();
  const a = c.artifact(digest);
  const root: LineageNode = {
    kind: "artifact",
    label: `artifact ${a?.schema_name || a?.media_type || "file"}`,
    digest,
    children: [],
  };
  for (const s of stages) {
    root.children.push(await stageNode(c, s, seen));
    for (const r of c.runsWithStage(s.stage_id)) {
      root.children.push({
        kind: "revision",
        label: `code revision ${r.code_revision} (run ${r.run_id.slice(0, 12)} ${r.pipeline})`,
        children: [],
      });
    }
  }
  return root;
}

const text = (n: LineageNode): string => (n.digest ? `${n.label} ${n.digest}` : n.label);

/** The tree as text; a stage reached again (a shared upstream) is printed once, then named "(shown above)". */
export function renderTree(root: LineageNode): string {
  const lines = [text(root)];
  const shown = new Set<LineageNode>();
  const walk = (n: LineageNode, indent: string) => {
    n.children.forEach((c, i) => {
      const last = i === n.children.length - 1;
      const again = shown.has(c);
      lines.push(`${indent}${last ? "└─ " : "├─ "}${text(c)}${again ? " (shown above)" : ""}`);
      if (c.kind === "stage") shown.add(c);
      if (!again) walk(c, indent + (last ? "   " : "│  "));
    });
  };
  walk(root, "");
  return lines.join("\n");
}

/** Nodes with ids (a shared upstream stage is one node) and parent → child edges. */
function graph(root: LineageNode): { ids: Map<LineageNode, string>; edges: [string, string][] } {
  const ids = new Map<LineageNode, string>();
  const edges: [string, string][] = [];
  const visit = (n: LineageNode): string => {
    let id = ids.get(n);
    if (id) return id;
    id = `n${ids.size}`;
    ids.set(n, id);
    for (const c of n.children) edges.push([id, visit(c)]);
    return id;
  };
  visit(root);
  return { ids, edges };
}

const label = (n: LineageNode): string => (n.digest ? `${n.label}\n${short(n.digest)}` : n.label);

export function renderMermaid(root: LineageNode): string {
  const { ids, edges } = graph(root);
  const esc = (s: string) => s.replace(/"/g, "#quot;").replace(/\n/g, "<br/>");
  const lines = ["flowchart BT"];
  for (const [n, id] of ids) lines.push(`  ${id}["${esc(label(n))}"]`);
  // arrows point the way data flows: from what an artifact was made of to the artifact
  for (const [parent, child] of edges) lines.push(`  ${child} --> ${parent}`);
  return lines.join("\n");
}

export function renderDot(root: LineageNode): string {
  const { ids, edges } = graph(root);
  const esc = (s: string) => s.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
  const lines = ["digraph lineage {", "  rankdir=BT;", "  node [shape=box, fontname=monospace];"];
  for (const [n, id] of ids) lines.push(`  ${id} [label="${esc(label(n))}"];`);
  for (const [parent, child] of edges) lines.push(`  ${child} -> ${parent};`);
  lines.push("}");
  return lines.join("\n");
}

export function register(program: Command, ctx: CommandContext): void {
  program
    .command("lineage")
    .description("the tree from an artifact back to raw files, configs, tools and code revisions")
    .argument("<digest>", 'a stage output or stage manifest digest, "sha256:<64 hex>"')
    .addOption(new Option("--format <format>", "output format").choices(FORMATS).default("tree"))
    .option("--json", "same as --format json")
    .option("--descendants", "list what derives from the digest instead (one digest a line, or JSON)")
    .action((digest: string, opts: { format: Format; json?: boolean; descendants?: boolean }) => {
      digestArg(digest);
      return withCatalog(ctx, async (c) => {
        const format: Format = opts.json ? "json" : opts.format;
        if (opts.descendants) {
          const rows = c.descendants(digest).map((d) => {
            const a = c.artifact(d);
            return { digest: d, schema: a?.schema_name || a?.media_type || "" };
          });
          if (format === "json") printJson(ctx, { schemaVersion: 1, digest, descendants: rows });
          else for (const r of rows) ctx.io.out(`${r.digest}  ${r.schema || "?"}\n`);
          return;
        }
        const root = await lineageTree(c, digest);
        if (format === "json") printJson(ctx, { schemaVersion: 1, lineage: root });
        else
          ctx.io.out(
            (format === "tree" ? renderTree(root) : format === "mermaid" ? renderMermaid(root) : renderDot(root)) +
              "\n",
          );
      });
    });
}
