// The module graph of `nexa graph`: collapse a target-level build graph to modules, lay it out (the CLI on top, the
// core flow left to right in the order of tests/governance/layers.bzl, the cross-cutting modules below, kernels
// and contracts at the bottom) and render it as Mermaid, Graphviz dot or a standalone SVG. Layering violations
// (an edge policy.ts's checkLayering rejects) are drawn in red.
import type { LayerSpec } from "./policy/layers";
import { layeringOf } from "./policy/layers";
import { checkLayering, packageOf } from "./policy/policy";

// ----------------------------------------------------------------------------------------------------------
// the module graph

export interface ModuleNode {
  /** The module's name ("data"), "kernels" or "contracts". */
  id: string;
  /** Its layer in layers.bzl ("core", "cross_cutting", …), "unknown" for a modules/<m> no layer lists. */
  layer: string;
  /** The workspace path it stands for ("modules/data", "kernels", "proto"). */
  path: string;
  /** Its place in the layout: row (0 = top) and column. */
  row: number;
  column: number;
}

export interface ModuleEdge {
  from: string;
  to: string;
  /** How many target-level edges it stands for. */
  targets: number;
  /** The first target-level edge, e.g. "//modules/cli:cli -> //modules/registry:registry". */
  example: string;
  /** Why this edge breaks the layering (policy.ts's message), or null. */
  violation: string | null;
}

export interface ModuleGraph {
  nodes: ModuleNode[];
  edges: ModuleEdge[];
  /** Module cycles, each as "a -> b -> a" (policy.ts's findCycles). */
  cycles: string[];
}

/** Layers drawn as one node each (package layers); others (tests, pipelines, tools) are not drawn. */
const PACKAGE_NODES: Record<string, string> = { kernels: "kernels", contracts: "contracts" };

/** Collapses target-level edges (`bazel query --output=graph`) to the module graph of `layers`. */
export function moduleGraph(targetEdges: [string, string][], layers: LayerSpec[]): ModuleGraph {
  const layerOfModule = new Map(layers.flatMap((l) => l.modules.map((m) => [m, l.name] as [string, string])));
  const nodeOf = (label: string): { id: string; layer: string; path: string } | null => {
    if (label.startsWith("@") && !label.startsWith("@//")) return null; // external repositories
    const pkg = packageOf(label);
    const parts = pkg.split("/");
    if (parts[0] === "modules" && parts.length >= 2) {
      return { id: parts[1], layer: layerOfModule.get(parts[1]) ?? "unknown", path: `modules/${parts[1]}` };
    }
    for (const l of layers) {
      if (!(l.name in PACKAGE_NODES)) continue;
      const top = l.packages.find((p) => pkg === p || pkg.startsWith(p + "/"));
      if (top !== undefined) return { id: PACKAGE_NODES[l.name], layer: l.name, path: l.packages[0] };
    }
    return null;
  };
  const found = new Map<string, { id: string; layer: string; path: string }>();
  const grouped = new Map<string, [string, string][]>();
  for (const [from, to] of targetEdges) {
    const a = nodeOf(from);
    const b = nodeOf(to);
    if (a === null || b === null) continue;
    found.set(a.id, a);
    found.set(b.id, b);
    if (a.id === b.id) continue;
    const key = `${a.id} ${b.id}`;
    grouped.set(key, [...(grouped.get(key) ?? []), [from, to]]);
  }
  const layering = layeringOf(layers);
  const edges: ModuleEdge[] = [...grouped.entries()]
    .map(([key, labels]) => {
      const [from, to] = key.split(" ");
      const sorted = [...labels].sort();
      const problems = checkLayering({ roots: [], edges: sorted }, layering).filter((v) => v.rule === "layering");
      return {
        from,
        to,
        targets: sorted.length,
        example: `${sorted[0][0]} -> ${sorted[0][1]}`,
        violation: problems.length > 0 ? problems[0].message : null,
      };
    })
    .sort((x, y) => (x.from + " " + x.to < y.from + " " + y.to ? -1 : 1));
  const cycles = checkLayering({ roots: [], edges: [...grouped.values()].flat() }, layering)
    .filter((v) => v.rule === "cycle")
    .map((v) => v.message);
  return { nodes: layout(layers, found), edges, cycles };
}

/** Rows: the CLI; the core flow in order; the cross-cutting modules; kernels, contracts and unknown modules. */
function layout(layers: LayerSpec[], found: Map<string, { id: string; layer: string; path: string }>): ModuleNode[] {
  const spec = (name: string) => layers.find((l) => l.name === name);
  const rows: { id: string; layer: string; path: string }[][] = [
    (spec("cli")?.modules ?? []).map((m) => ({ id: m, layer: "cli", path: `modules/${m}` })),
    (spec("core")?.modules ?? []).map((m) => ({ id: m, layer: "core", path: `modules/${m}` })),
    (spec("cross_cutting")?.modules ?? []).map((m) => ({ id: m, layer: "cross_cutting", path: `modules/${m}` })),
    [
      ...Object.entries(PACKAGE_NODES)
        .filter(([layer]) => spec(layer) !== undefined)
        .map(([layer, id]) => ({ id, layer, path: spec(layer)!.packages[0] })),
      ...[...found.values()].filter((n) => n.layer === "unknown").sort((a, b) => (a.id < b.id ? -1 : 1)),
    ],
  ];
  return rows.flatMap((row, r) => row.map((n, c) => ({ ...n, row: r, column: c })));
}

// ----------------------------------------------------------------------------------------------------------
// mermaid and dot

const ROW_TITLES = ["the operator's command", "core flow", "cross-cutting", "kernels, contracts"];

/** A Mermaid flowchart: one subgraph per row (the core flow left to right), violations styled red. */
export function toMermaid(g: ModuleGraph): string {
  const id = (n: string) => `m_${n.replace(/[^A-Za-z0-9_]/g, "_")}`;
  const lines = ["flowchart TB"];
  const links: string[] = [];
  const rows = [...new Set(g.nodes.map((n) => n.row))].sort();
  for (const r of rows) {
    const row = g.nodes.filter((n) => n.row === r).sort((a, b) => a.column - b.column);
    lines.push(`  subgraph row${r} ["${ROW_TITLES[r] ?? ""}"]`, "    direction LR");
    for (const n of row) lines.push(`    ${id(n.id)}["${n.id}"]`);
    // invisible links keep the row's order (the core flow reads left to right)
    for (let i = 1; i < row.length; i++) links.push(`  ${id(row[i - 1].id)} ~~~ ${id(row[i].id)}`);
    lines.push("  end");
  }
  const red: number[] = [];
  for (const e of g.edges) {
    if (e.violation !== null) red.push(links.length);
    links.push(`  ${id(e.from)} ${e.violation !== null ? "-- upstream -->" : "-->"} ${id(e.to)}`);
  }
  lines.push(...links);
  if (red.length > 0) lines.push(`  linkStyle ${red.join(",")} stroke:#d00,stroke-width:3px,color:#d00`);
  return lines.join("\n") + "\n";
}

/** Graphviz dot: one rank per row (kept in order by invisible edges), violations red. */
export function toDot(g: ModuleGraph): string {
  const q = (s: string) => `"${s.replace(/"/g, '\\"')}"`;
  const lines = [
    "digraph modules {",
    "  rankdir=TB;",
    '  node [shape=box, style="rounded,filled", fillcolor="#f4f6fa", fontname="Helvetica"];',
    '  edge [color="#8a93a6"];',
  ];
  const rows = [...new Set(g.nodes.map((n) => n.row))].sort();
  for (const r of rows) {
    const row = g.nodes.filter((n) => n.row === r).sort((a, b) => a.column - b.column);
    lines.push(`  subgraph row${r} { rank=same; ${row.map((n) => q(n.id)).join("; ")}; }`);
    for (let i = 1; i < row.length; i++) lines.push(`  ${q(row[i - 1].id)} -> ${q(row[i].id)} [style=invis];`);
  }
  for (const e of g.edges) {
    const attrs = e.violation !== null ? ` [color="#d00000", penwidth=2.5, tooltip=${q(e.violation)}]` : "";
    lines.push(`  ${q(e.from)} -> ${q(e.to)}${attrs};`);
  }
  lines.push("}");
  return lines.join("\n") + "\n";
}

// ----------------------------------------------------------------------------------------------------------
// svg

const BOX_W = 124;
const BOX_H = 36;
const GAP_X = 22;
const GAP_Y = 96;
const LEFT = 150; // room for the row titles
const TOP = 56;

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** A standalone SVG (no scripts, fonts or links), hand-laid out: rows of boxes, edges as arrows, violations red. */
export function toSvg(g: ModuleGraph): string {
  const perRow = new Map<number, number>();
  for (const n of g.nodes) perRow.set(n.row, Math.max(perRow.get(n.row) ?? 0, n.column + 1));
  const widest = Math.max(1, ...perRow.values());
  const rowWidth = (r: number) => (perRow.get(r) ?? 0) * (BOX_W + GAP_X) - GAP_X;
  const contentW = widest * (BOX_W + GAP_X) - GAP_X;
  const width = LEFT + contentW + 40;
  const rows = Math.max(1, ...g.nodes.map((n) => n.row + 1));
  const height = TOP + rows * (BOX_H + GAP_Y) - GAP_Y + 70;
  const center = new Map(
    g.nodes.map((n) => [
      n.id,
      {
        x: LEFT + (contentW - rowWidth(n.row)) / 2 + n.column * (BOX_W + GAP_X) + BOX_W / 2,
        y: TOP + n.row * (BOX_H + GAP_Y) + BOX_H / 2,
        row: n.row,
      },
    ]),
  );
  // where the segment from a box's center towards (dx, dy) leaves the box
  const border = (c: { x: number; y: number }, dx: number, dy: number) => {
    const t = Math.min(dx === 0 ? Infinity : BOX_W / 2 / Math.abs(dx), dy === 0 ? Infinity : BOX_H / 2 / Math.abs(dy));
    return { x: c.x + dx * t, y: c.y + dy * t };
  };
  const f = (n: number) => n.toFixed(1);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif">`,
    "<title>NexaCompute module graph</title>",
    "<defs>",
    '<marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#8a93a6"/></marker>',
    '<marker id="arrow-red" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#d00000"/></marker>',
    "</defs>",
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="20" y="28" font-size="16" font-weight="bold" fill="#1d2433">Module graph (arrows point at what a module uses)</text>`,
  ];
  for (let r = 0; r < rows; r++) {
    out.push(
      `<text x="20" y="${f(TOP + r * (BOX_H + GAP_Y) + BOX_H / 2 + 4)}" font-size="12" fill="#5b6478">${esc(ROW_TITLES[r] ?? "")}</text>`,
    );
  }
  // ordinary edges first, violations on top
  const ordered = [...g.edges.filter((e) => e.violation === null), ...g.edges.filter((e) => e.violation !== null)];
  for (const e of ordered) {
    const a = center.get(e.from);
    const b = center.get(e.to);
    if (!a || !b) continue;
    const red = e.violation !== null;
    const stroke = red
      ? 'stroke="#d00000" stroke-width="2.5" marker-end="url(#arrow-red)"'
      : 'stroke="#8a93a6" stroke-width="1.2" marker-end="url(#arrow)"';
    const title = `<title>${esc(red ? e.violation! : `${e.from} uses ${e.to} (${e.targets} target edge${e.targets === 1 ? "" : "s"}, e.g. ${e.example})`)}</title>`;
    if (a.row === b.row) {
      // same row: an arc above the boxes between them
      const p = { x: a.x + (b.x > a.x ? 1 : -1) * (BOX_W / 4), y: a.y - BOX_H / 2 };
      const q = { x: b.x - (b.x > a.x ? 1 : -1) * (BOX_W / 4), y: b.y - BOX_H / 2 };
      const lift = 28 + Math.abs(b.x - a.x) / 10;
      out.push(
        `<path d="M${f(p.x)},${f(p.y)} Q${f((p.x + q.x) / 2)},${f(p.y - lift * 2)} ${f(q.x)},${f(q.y)}" fill="none" ${stroke}>${title}</path>`,
      );
    } else {
      const dx = b.x - a.x;
      const dy = b.y - a.y;
      const p = border(a, dx, dy);
      const q = border(b, -dx, -dy);
      out.push(`<line x1="${f(p.x)}" y1="${f(p.y)}" x2="${f(q.x)}" y2="${f(q.y)}" ${stroke}>${title}</line>`);
    }
  }
  for (const n of g.nodes) {
    const c = center.get(n.id)!;
    const fill = n.layer === "unknown" ? "#fde8e8" : n.layer === "core" ? "#e7effc" : "#f4f6fa";
    out.push(
      `<g><title>${esc(`${n.path} (${n.layer})`)}</title><rect x="${f(c.x - BOX_W / 2)}" y="${f(c.y - BOX_H / 2)}" width="${BOX_W}" height="${BOX_H}" rx="8" fill="${fill}" stroke="#39445a"/>` +
        `<text x="${f(c.x)}" y="${f(c.y + 4.5)}" font-size="13" text-anchor="middle" fill="#1d2433">${esc(n.id)}</text></g>`,
    );
  }
  const violations = g.edges.filter((e) => e.violation !== null).length;
  out.push(
    `<text x="20" y="${height - 20}" font-size="12" fill="${violations ? "#d00000" : "#5b6478"}">${violations ? `${violations} layering violation${violations === 1 ? "" : "s"} (red)` : "no layering violation"}${g.cycles.length ? `; ${g.cycles.length} cycle${g.cycles.length === 1 ? "" : "s"}` : ""}</text>`,
    "</svg>",
  );
  return out.join("\n") + "\n";
}
