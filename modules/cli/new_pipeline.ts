// `nexa new pipeline <name> --data <dir|glob> [--format jsonl|json|text|parquet] [--from golden] [--purpose "…"]
// [--experiment]`: scaffolds pipelines/<name>/ (or experiments/<name>/) from a template pipeline: its BUILD file
// (the template's stages, the data stage reading the new data), its configs (copied, the data config pointed at
// the data), a README whose first line is the pipeline's purpose, and a `nexa_data_dir` repository in WORKSPACE
// exposing the data directory (tools/stage/data_dir.bzl). Every written config is checked against its contract.
// A directory given without --format may mix kinds of file: the data config gets one source per kind found
// (JSONL, JSON, text, each maybe gzipped; Parquet), with the encoding of text that is not UTF-8 and the text
// column of Parquet files guessed from the files, each guess printed as a `note:` line.

import { isUtf8 } from "buffer";
import { Command } from "commander";
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  statSync,
  writeFileSync,
} from "fs";
import * as path from "path";
import { constants as zlibConstants, gunzipSync } from "zlib";

import { parquetMetadata, parquetSchema } from "hyparquet";

import { CONTRACTS, decodeManifest } from "@nexa/modules/manifest";
import { ConfigError, formatError, NexaError } from "@nexa/modules/monitoring";

import type { CommandIo } from "./commands";
import { findWorkspace, RUN_EXIT } from "./run_pipeline";

/** Data formats the scaffold knows: DataSource.Format name, file pattern, and whether records have a text field. */
export const FORMATS: Record<string, { format: string; ext: string; textField: boolean }> = {
  jsonl: { format: "FORMAT_JSONL", ext: ".jsonl", textField: true },
  json: { format: "FORMAT_JSON", ext: ".json", textField: true },
  text: { format: "FORMAT_TEXT", ext: ".txt", textField: false },
  parquet: { format: "FORMAT_PARQUET", ext: ".parquet", textField: true },
};

/** The kinds of file a directory given without --format may mix: the format and the file name endings of each. */
export const KINDS: { format: string; exts: string[] }[] = [
  { format: "jsonl", exts: [".jsonl", ".jsonl.gz"] },
  { format: "json", exts: [".json", ".json.gz"] },
  { format: "text", exts: [".txt", ".txt.gz"] },
  { format: "parquet", exts: [".parquet"] },
];

/** One DataSource of a scanned directory: its format, the endings found, its files and what was guessed. */
export interface DetectedSource {
  format: string;
  exts: string[];
  files: string[];
  /** Set when a file of the source is not valid UTF-8: "latin-1", or "windows-1252" when one holds 0x80–0x9F. */
  encoding?: string;
  textField?: string;
}

/** Template pipelines: the stages of each (name, rule, config file, other attributes), in order. */
const TEMPLATES: Record<string, { stages: [string, string, string, string][]; reportStage: string }> = {
  golden: {
    reportStage: "eval",
    stages: [
      ["data", "data_stage", "data.json", "    num_shards = 2,\n    raw = [DATA],\n"],
      ["teacher_pack", "pack_stage", "pack.json", '    dataset = ":data",\n'],
      ["teacher", "train_stage", "teacher_train.json", '    packed = ":teacher_pack",\n'],
      ["distill", "distill_stage", "distill.json", '    dataset = ":data",\n    teacher = ":teacher",\n'],
      ["pack", "pack_stage", "pack.json", '    dataset = ":distill",\n    tokenizer_from = ":teacher_pack",\n'],
      ["train", "train_stage", "student_train.json", '    packed = ":pack",\n    teacher = ":teacher",\n'],
      ["train_undistilled", "train_stage", "student_undistilled_train.json", '    packed = ":teacher_pack",\n'],
      [
        "eval",
        "eval_stage",
        "rubric.json",
        '    checkpoint = ":train",\n    packed = ":teacher_pack",\n    teacher = ":teacher",\n    undistilled = ":train_undistilled",\n',
      ],
    ],
  },
};

export interface NewPipelineOptions {
  name: string;
  data: string;
  format?: string;
  from: string;
  purpose?: string;
  experiment: boolean;
  workspace: string;
  /** Base for a relative --data (the caller's working directory). */
  cwd: string;
  /** Today, YYYY-MM-DD (EXPERIMENT.md's expiry is 30 days later). */
  today?: string;
}

class ScaffoldError extends NexaError {
  constructor(
    code: string,
    message: string,
    readonly exitCode: number,
    hint: string,
  ) {
    super(code, message, { hint });
  }
}

const usage = (code: string, message: string, hint: string) => new ScaffoldError(code, message, RUN_EXIT.usage, hint);
const badInput = (code: string, message: string, hint: string) =>
  new ScaffoldError(code, message, RUN_EXIT.badInput, hint);

/** `--data` as a directory and Bazel glob patterns relative to it. */
export function splitData(data: string, cwd: string): { dir: string; include?: string[] } {
  const abs = path.resolve(cwd, data);
  const segments = abs.split("/");
  const first = segments.findIndex((s) => /[*?[\]{}]/.test(s));
  if (first < 0) return { dir: abs };
  const pattern = segments.slice(first).join("/");
  if (/[?[\]{}]/.test(pattern)) {
    throw usage(
      "NEW_BAD_GLOB",
      `--data ${data}: ${pattern} uses ?, [] or {}`,
      "Bazel globs know * and ** only: give a directory, or e.g. /data/**/*.jsonl",
    );
  }
  return { dir: segments.slice(0, first).join("/") || "/", include: [pattern] };
}

function filesUnder(dir: string, limit = 10000): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (out.length >= limit) return;
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(p);
    }
  };
  walk(dir);
  return out;
}

/** The format of --format, or the most common known extension under the data directory. */
export function chooseFormat(given: string | undefined, dir: string): string {
  if (given !== undefined) {
    if (!(given in FORMATS)) {
      throw usage(
        "NEW_BAD_FORMAT",
        `--format ${given} is not a known format`,
        `use one of ${Object.keys(FORMATS).join(", ")}`,
      );
    }
    return given;
  }
  const counts = new Map<string, number>();
  for (const f of filesUnder(dir)) {
    for (const [name, spec] of Object.entries(FORMATS))
      if (f.endsWith(spec.ext)) counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  const best = [...counts.entries()].sort((a, b) => b[1] - a[1])[0];
  if (!best) {
    throw badInput(
      "NEW_NO_DATA_FILES",
      `${dir} holds no ${Object.values(FORMATS)
        .map((f) => f.ext)
        .join(", ")} files`,
      "point --data at the directory of your files, or give --format and a glob, e.g. --data '/data/**/*.jsonl'",
    );
  }
  return best[0];
}

/** How many bytes of each text-like file the scan reads (its head; a gzip file's head is decompressed). */
const SCAN_BYTES = 1 << 20;

function head(file: string, n: number): Buffer {
  const fd = openSync(file, "r");
  try {
    const buf = Buffer.alloc(n);
    return buf.subarray(0, readSync(fd, buf, 0, n, 0));
  } finally {
    closeSync(fd);
  }
}

/** The first bytes of a text-like file's content (decompressed when it starts with the gzip magic bytes). */
export function textHead(file: string): { bytes: Buffer; truncated: boolean } {
  const raw = head(file, SCAN_BYTES + 1);
  let bytes = raw;
  let truncated = raw.length > SCAN_BYTES;
  if (raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b) {
    try {
      bytes = gunzipSync(truncated ? raw.subarray(0, SCAN_BYTES) : raw, { finishFlush: zlibConstants.Z_SYNC_FLUSH });
    } catch (e) {
      throw badInput(
        "NEW_BAD_GZIP",
        `${file} starts like gzip but does not decompress: ${e instanceof Error ? e.message : String(e)}`,
        "replace the file with a valid gzip file, or move it out of the data directory",
      );
    }
  }
  if (bytes.length > SCAN_BYTES) {
    bytes = bytes.subarray(0, SCAN_BYTES);
    truncated = true;
  }
  return { bytes, truncated };
}

/** Whether bytes are UTF-8; a head cut inside a character is judged without its last (incomplete) bytes. */
export function headIsUtf8(bytes: Buffer, truncated: boolean): boolean {
  if (isUtf8(bytes)) return true;
  if (!truncated) return false;
  for (let cut = 1; cut <= 3 && cut < bytes.length; cut++)
    if (isUtf8(bytes.subarray(0, bytes.length - cut))) return true;
  return false;
}

/** The single-byte encoding of bytes that are not UTF-8: windows-1252 when one lies in 0x80–0x9F, else latin-1. */
export function guessEncoding(bytes: Uint8Array): "latin-1" | "windows-1252" {
  return bytes.some((b) => b >= 0x80 && b <= 0x9f) ? "windows-1252" : "latin-1";
}

/** The text column of a Parquet file: `text` if it is a string column, else the first string column. */
export function parquetTextColumn(file: string): { column: string; columns: string[] } {
  let columns: { name: string; string: boolean }[];
  try {
    const buf = readFileSync(file);
    const schema = parquetSchema(parquetMetadata(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length)));
    columns = schema.children.map((c) => ({
      name: c.element.name,
      string:
        c.children.length === 0 &&
        c.element.type === "BYTE_ARRAY" &&
        (c.element.converted_type === "UTF8" || c.element.logical_type?.type === "STRING"),
    }));
  } catch (e) {
    throw badInput(
      "NEW_BAD_PARQUET",
      `${file} is not a readable Parquet file: ${e instanceof Error ? e.message : String(e)}`,
      "replace the file with a valid Parquet file, or move it out of the data directory",
    );
  }
  const strings = columns.filter((c) => c.string).map((c) => c.name);
  const column = strings.includes("text") ? "text" : strings[0];
  if (column === undefined) {
    throw badInput(
      "NEW_PARQUET_NO_TEXT",
      `${file} has no string column to read the text from (columns: ${columns.map((c) => c.name).join(", ") || "none"})`,
      "write the documents' text as a string (UTF8) column, named text, or move the file out of the data directory",
    );
  }
  return { column, columns: columns.map((c) => c.name) };
}

/**
 * The DataSources of a directory of mixed files: one per kind found (KINDS order), with the encoding of text-like
 * sources whose files are not UTF-8 and the text column of Parquet sources; `notes` says what was guessed.
 */
export function detectSources(dir: string): { sources: DetectedSource[]; notes: string[] } {
  const files = filesUnder(dir).sort();
  const notes: string[] = [];
  const sources: DetectedSource[] = [];
  const rel = (f: string) => path.relative(dir, f);
  for (const kind of KINDS) {
    const mine = files.filter((f) => kind.exts.some((e) => f.endsWith(e)));
    if (mine.length === 0) continue;
    const exts = kind.exts.filter((e) => mine.some((f) => f.endsWith(e)));
    const source: DetectedSource = { format: kind.format, exts, files: mine };
    if (kind.format === "parquet") {
      let chosen: { column: string; file: string } | undefined;
      for (const f of mine) {
        const { column, columns } = parquetTextColumn(f);
        if (chosen === undefined) {
          chosen = { column, file: f };
          notes.push(
            column === "text"
              ? `parquet: reading the text from column "text" (${rel(f)})`
              : `parquet: ${rel(f)} has no string column "text": reading the text from "${column}", its first string column (columns: ${columns.join(", ")})`,
          );
        } else if (column !== chosen.column) {
          throw badInput(
            "NEW_PARQUET_COLUMNS_DIFFER",
            `the Parquet files disagree on the text column: "${chosen.column}" in ${chosen.file}, "${column}" in ${f}`,
            "name the text column alike in every Parquet file, or scaffold with --format parquet and a glob of one kind",
          );
        }
      }
      source.textField = chosen!.column;
    } else {
      source.textField = FORMATS[kind.format].textField ? "text" : undefined;
      const invalid: { file: string; bytes: Buffer }[] = [];
      let utf8NonAscii: string | undefined;
      for (const f of mine) {
        const { bytes, truncated } = textHead(f);
        if (!headIsUtf8(bytes, truncated)) invalid.push({ file: f, bytes });
        else if (utf8NonAscii === undefined && bytes.some((b) => b >= 0x80)) utf8NonAscii = f;
      }
      if (invalid.length > 0) {
        const c1 = invalid.find((i) => guessEncoding(i.bytes) === "windows-1252");
        source.encoding = c1 ? "windows-1252" : "latin-1";
        const named = (c1 ?? invalid[0]).file;
        notes.push(
          `${kind.format}: ${invalid.length} of ${mine.length} file(s) are not UTF-8 (e.g. ${rel(named)}): reading them as ${source.encoding}` +
            (c1 ? " (bytes 0x80-0x9F are windows-1252 punctuation)" : " (no byte in 0x80-0x9F)") +
            ` — set "encoding" in data.json if that is wrong`,
        );
        if (utf8NonAscii !== undefined) {
          notes.push(
            `${kind.format}: ${rel(utf8NonAscii)} is UTF-8 with non-ASCII characters and will be read as ${source.encoding} too: ` +
              "convert the other files to UTF-8 or keep the two in separate directories",
          );
        }
      }
    }
    sources.push(source);
  }
  if (sources.length === 0) {
    throw badInput(
      "NEW_NO_DATA_FILES",
      `${dir} holds no ${KINDS.flatMap((k) => k.exts).join(", ")} files`,
      "point --data at the directory of your files, or give --format and a glob, e.g. --data '/data/**/*.jsonl'",
    );
  }
  return { sources, notes };
}

/** The DataSource path glob of a detected source (matched against a path suffix of each file). */
export function sourcePath(exts: string[]): string {
  return exts.length === 1 ? `*${exts[0]}` : `*.{${exts.map((e) => e.slice(1)).join(",")}}`;
}

function buildFile(o: NewPipelineOptions, repo: string, label: string): string {
  const t = TEMPLATES[o.from];
  const rules = [...new Set(t.stages.map((s) => s[1]))].sort();
  const stages = t.stages
    .map(([name, rule, config, attrs]) => `${rule}(\n    name = "${name}",\n    config = "${config}",\n${attrs})\n`)
    .join("\n");
  return `# ${o.purpose ?? `The ${o.name} pipeline.`}
# Scaffolded by \`nexa new pipeline\` from the ${o.from} pipeline; run it with \`npx nexa run ${o.name}\`.
# The data is @${repo} (nexa_data_dir in WORKSPACE); configs are the JSON files of this package.

load("//pipelines:stages.bzl", ${rules.map((r) => `"${r}"`).join(", ")})
load("//tools/stage:defs.bzl", "nexa_pipeline")

DATA = "@${repo}//:files"

${stages}
# \`npx nexa run ${o.name}\` (bazel run ${label}).
nexa_pipeline(
    name = "${o.name}",
    report_stage = "${t.reportStage}",
    stages = [
${t.stages.map((s) => `        ":${s[0]}",`).join("\n")}
    ],
)
`;
}

/** The WORKSPACE declaration of the data repository (with the load when WORKSPACE lacks it). */
export function workspaceEntry(workspaceText: string, repo: string, dir: string, include: string[]): string {
  const load = 'load("//tools/stage:data_dir.bzl", "nexa_data_dir")';
  return `${workspaceText.includes(load) ? "" : `\n${load}\n`}
# Data of the ${repo.replace(/^nexa_data_/, "")} pipeline (override: --repo_env=NEXA_DATA=${repo}=/other/dir).
nexa_data_dir(
    name = "${repo}",
    include = [${include.map((i) => JSON.stringify(i)).join(", ")}],
    path = ${JSON.stringify(dir)},
)
`;
}

function plusDays(day: string, n: number): string {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

/** Writes the scaffold; returns the files written (workspace-relative) and the next command. */
export function scaffoldPipeline(o: NewPipelineOptions): {
  files: string[];
  next: string;
  label: string;
  notes: string[];
} {
  if (!/^[a-z][a-z0-9_]*$/.test(o.name)) {
    throw usage(
      "NEW_BAD_NAME",
      `pipeline name ${JSON.stringify(o.name)} is not lower_snake_case`,
      "use letters, digits and _, starting with a letter, e.g. my_corpus",
    );
  }
  if (!(o.from in TEMPLATES)) {
    throw usage(
      "NEW_BAD_TEMPLATE",
      `--from ${o.from} is not a template`,
      `use one of ${Object.keys(TEMPLATES).join(", ")}`,
    );
  }
  if (o.purpose !== undefined && !/^[^\n]{10,200}[.!?]$/.test(o.purpose.trim())) {
    throw usage(
      "NEW_BAD_PURPOSE",
      "--purpose must be one sentence (10 to 200 characters, ending with a period)",
      'e.g. --purpose "Trains a small model on our support tickets."',
    );
  }
  const pkg = `${o.experiment ? "experiments" : "pipelines"}/${o.name}`;
  const dest = path.join(o.workspace, pkg);
  if (existsSync(dest))
    throw badInput("NEW_EXISTS", `${pkg} already exists`, "choose another name, or delete the directory first");
  const { dir, include: globbed } = splitData(o.data, o.cwd);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw badInput(
      "NEW_NO_DATA_DIR",
      `--data ${o.data}: ${dir} is not a directory`,
      "give the directory holding your files (or a glob under it)",
    );
  }
  // A directory without --format: one source per kind of file found; otherwise one source of the given (or most
  // common) format.
  const mixed = o.format === undefined && globbed === undefined ? detectSources(dir) : undefined;
  const format = mixed ? mixed.sources.map((s) => s.format).join(", ") : chooseFormat(o.format, dir);
  const include = mixed
    ? mixed.sources.flatMap((s) => s.exts.map((e) => `**/*${e}`))
    : (globbed ?? [`**/*${FORMATS[format].ext}`]);
  const repo = `nexa_data_${o.name}`;
  const label = `//${pkg}:${o.name}`;

  // Configs: the template's, with the data config reading the new data.
  const templateDir = path.join(o.workspace, "pipelines", o.from);
  const configs = new Map<string, string>();
  for (const [, , config] of TEMPLATES[o.from].stages)
    configs.set(config, readFileSync(path.join(templateDir, config), "utf8"));
  const data = JSON.parse(configs.get("data.json")!);
  data.name = o.name;
  if (mixed) {
    data.sources = mixed.sources.map((s) => ({
      path: sourcePath(s.exts),
      format: FORMATS[s.format].format,
      ...(s.textField ? { textField: s.textField } : {}),
      ...(s.encoding ? { encoding: s.encoding } : {}),
    }));
  } else {
    const spec = FORMATS[format];
    const suffix = include[0].split("/").pop()!;
    data.sources = [{ path: suffix, format: spec.format, ...(spec.textField ? { textField: "text" } : {}) }];
  }
  configs.set("data.json", JSON.stringify(data, null, 2) + "\n");
  try {
    decodeManifest(CONTRACTS.DataConfig, configs.get("data.json")!, `${pkg}/data.json`);
  } catch (e) {
    throw badInput(
      "NEW_BAD_DATA_CONFIG",
      `the data config for --format ${format} does not decode: ${e instanceof Error ? e.message : String(e)}`,
      `this checkout's DataConfig cannot read ${format} files; choose another --format`,
    );
  }

  const inWorkspace = !path.relative(o.workspace, dir).startsWith("..");
  const repoPath = inWorkspace ? path.relative(o.workspace, dir) || "." : dir;
  const files: string[] = [];
  const write = (rel: string, text: string): void => {
    const f = path.join(o.workspace, rel);
    mkdirSync(path.dirname(f), { recursive: true });
    writeFileSync(f, text);
    files.push(rel);
  };
  mkdirSync(dest, { recursive: true });
  write(`${pkg}/BUILD.bazel`, buildFile(o, repo, label));
  for (const [name, text] of [...configs.entries()].sort()) write(`${pkg}/${name}`, text);
  const purpose =
    o.purpose?.trim() ?? `Runs the ${o.from} stages (data, distill, pack, train, eval) on the data in ${dir}.`;
  write(
    `${pkg}/README.md`,
    `${purpose}\n\n# ${pkg}\n\n- **Inputs:** \`@${repo}//:files\`: ${include.join(", ")} under \`${dir}\` (nexa_data_dir in WORKSPACE; ` +
      `another directory: \`--repo_env=NEXA_DATA=${repo}=/dir\`), read as ${format}.\n` +
      `- **Outputs:** the ${o.from} stages' products, published to the registry by \`npx nexa run ${o.name}\`.\n\n` +
      `Scaffolded from \`pipelines/${o.from}\`; change a knob for one run with \`npx nexa run ${o.name} --set train.steps=100\`.\n`,
  );
  if (o.experiment) {
    const today = o.today ?? new Date().toISOString().slice(0, 10);
    write(
      `${pkg}/EXPERIMENT.md`,
      `owner: ${process.env.USER ?? "unknown"}\nexpires: ${plusDays(today, 30)}\nquestion: ${purpose}\n`,
    );
  }
  const ws = path.join(o.workspace, "WORKSPACE");
  const wsText = readFileSync(ws, "utf8");
  writeFileSync(ws, wsText.replace(/\n*$/, "\n") + workspaceEntry(wsText, repo, repoPath, include));
  files.push("WORKSPACE");
  return {
    files,
    next: `npx nexa run ${o.experiment ? `experiments/${o.name}` : o.name}`,
    label,
    notes: mixed?.notes ?? [],
  };
}

/** Registers `nexa new pipeline`. */
export function registerNewPipeline(program: Command, io: CommandIo, setExit: (code: number) => void): void {
  const group = program.command("new").description("scaffold new work");
  group
    .command("pipeline <name>")
    .description("scaffold a pipeline on your own data from a template (pipelines/<name>/ or experiments/<name>/)")
    .requiredOption("--data <dir|glob>", "the data: a directory, or a glob such as /data/**/*.jsonl")
    .option("--format <format>", `file format: ${Object.keys(FORMATS).join(", ")} (default: from the files)`)
    .option("--from <template>", "template pipeline", "golden")
    .option("--purpose <sentence>", "the pipeline's purpose, one sentence (its README's first line)")
    .option("--experiment", "scaffold under experiments/ (time-boxed work, with EXPERIMENT.md)")
    .option("--json", "print the result as JSON")
    .action(
      (
        name: string,
        opts: { data: string; format?: string; from: string; purpose?: string; experiment?: boolean; json?: boolean },
      ) => {
        const env = io.env ?? process.env;
        try {
          const r = scaffoldPipeline({
            name,
            data: opts.data,
            format: opts.format,
            from: opts.from,
            purpose: opts.purpose,
            experiment: opts.experiment === true,
            workspace: findWorkspace(env),
            cwd: env.BUILD_WORKING_DIRECTORY ?? process.cwd(),
          });
          if (opts.json) io.out(JSON.stringify(r) + "\n");
          else {
            const notes = r.notes.map((n) => `note: ${n}\n`).join("");
            io.out(`${notes}${r.files.map((f) => `wrote ${f}`).join("\n")}\n\nnext: ${r.next}\n`);
          }
        } catch (e) {
          io.err(`nexa new pipeline: ${formatError(e)}\n`);
          setExit(
            e instanceof ScaffoldError ? e.exitCode : e instanceof ConfigError ? RUN_EXIT.badInput : RUN_EXIT.usage,
          );
        }
      },
    );
}
