// Ingest: raw files → documents (id, text, the bytes the gate sees, source, location), in reading order.
//
//   FORMAT_JSONL  one JSON object per non-blank line; text from `text_field` (default "text"), id from `id_field`
//                 (a string or an integer) or "<file basename>:<line>"
//   FORMAT_JSON   the whole file is one JSON object; text and id fields as for JSONL, default id the basename
//   FORMAT_TEXT   the whole file is one document; id the basename
//
// Malformed input is a ConfigError naming file:line (and the column of a JSON syntax error, the field of a
// missing or mistyped text/id). Invalid UTF-8 is not an error: such a document keeps its raw bytes, so the kernel
// gate drops it as `invalid_utf8` (a JSON string with an unpaired surrogate escape such as "\ud800" has no UTF-8
// form either: the gate gets its WTF-8 bytes, which are invalid UTF-8, with the same result).

import { readFileSync } from "fs";
import * as path from "path";

import { describeOffset, jsonErrorOffset, lineColumn } from "@nexa/modules/manifest";
import { ConfigError } from "@nexa/modules/monitoring";
import { DataSource_Format } from "@nexa/proto/nexa/v1/data_config";

import type { SelectedFile } from "./select";

/** One document read from a raw file. */
export interface Document {
  /** Position in the stage's reading order (over all sources and files); shards split on it. */
  index: number;
  id: string;
  text: string;
  /** What the gate sees: the UTF-8 bytes of `text`, or the raw bytes when they are not valid UTF-8. */
  bytes: Uint8Array;
  /** The DataSource path pattern that produced the document. */
  source: string;
  /** Index of the raw file in the selected file list. */
  file: number;
  /** Raw file (its recorded uri) and 1-based line, for error messages. */
  uri: string;
  line: number;
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const lenientUtf8 = new TextDecoder("utf-8", { ignoreBOM: true });

/** Text of `bytes`, and whether they were valid UTF-8. */
function decode(bytes: Uint8Array): { text: string; valid: boolean } {
  try {
    return { text: strictUtf8.decode(bytes), valid: true };
  } catch {
    return { text: lenientUtf8.decode(bytes), valid: false };
  }
}

const LONE_SURROGATE = /([\uD800-\uDFFF])/u;

/** UTF-8 bytes of `text`; WTF-8 (invalid UTF-8) for unpaired surrogates, which UTF-8 cannot encode. */
function textBytes(text: string): Uint8Array {
  if (!LONE_SURROGATE.test(text)) return Buffer.from(text, "utf8");
  const parts = text.split(LONE_SURROGATE).map((part, k) => {
    if (k % 2 === 0) return Buffer.from(part, "utf8");
    const c = part.charCodeAt(0);
    return Buffer.from([0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f)]);
  });
  return Buffer.concat(parts);
}

// ----------------------------------------------------------------------------------------------------------
// JSON records

/** Parses one JSON object; a syntax error names file:line:column (`firstLine` is the line `text` starts at). */
function parseObject(text: string, file: string, firstLine: number): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const offset = jsonErrorOffset(text);
    const at = lineColumn(text, offset < 0 ? 0 : offset);
    const line = firstLine + at.line - 1;
    throw new ConfigError("DATA_MALFORMED_JSON", `malformed JSON: ${describeOffset(text, offset)}`, {
      context: { file, line, column: at.column },
      hint: "fix the record at that position (each JSONL line must be one complete JSON object)",
      cause: err,
    });
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ConfigError(
      "DATA_NOT_AN_OBJECT",
      `expected a JSON object, found ${value === null ? "null" : Array.isArray(value) ? "an array" : typeof value}`,
      {
        context: { file, line: firstLine },
        hint: "every record must be a JSON object holding the text field",
      },
    );
  }
  return value as Record<string, unknown>;
}

/** The text field of a record (must be a string). */
function textOf(record: Record<string, unknown>, field: string, file: string, line: number): string {
  const value = record[field];
  if (typeof value === "string") return value;
  const found =
    value === undefined
      ? "missing"
      : `a ${value === null ? "null" : Array.isArray(value) ? "array" : typeof value}, not a string`;
  throw new ConfigError("DATA_BAD_TEXT_FIELD", `text field ${JSON.stringify(field)} is ${found}`, {
    context: { file, line, jsonPath: `$.${field}`, field },
    hint: `every record needs a string field ${JSON.stringify(field)}; set text_field in the DataSource if the text lives elsewhere`,
  });
}

/** The id field of a record (a string or an integer), or `fallback` when no id field is configured. */
function idOf(record: Record<string, unknown>, field: string, fallback: string, file: string, line: number): string {
  if (field === "") return fallback;
  const value = record[field];
  if (typeof value === "string" && value !== "") return value;
  if (typeof value === "number" && Number.isSafeInteger(value)) return String(value);
  const found = value === undefined ? "missing" : `${JSON.stringify(value)}, not a non-empty string or an integer`;
  throw new ConfigError("DATA_BAD_ID_FIELD", `id field ${JSON.stringify(field)} is ${found}`, {
    context: { file, line, jsonPath: `$.${field}`, field },
    hint: "every record needs a unique string or integer id in id_field; clear id_field to use <file>:<line> ids",
  });
}

// ----------------------------------------------------------------------------------------------------------
// formats

type Emit = (id: string, text: string, bytes: Uint8Array, line: number) => void;

function readJsonl(raw: Buffer, f: SelectedFile, emit: Emit): void {
  const base = path.posix.basename(f.uri);
  const textField = f.source.textField || "text";
  let start = 0;
  for (let line = 1; start < raw.length; line++) {
    const nl = raw.indexOf(0x0a, start);
    const end = nl < 0 ? raw.length : nl;
    const lineBytes = raw.subarray(start, end > start && raw[end - 1] === 0x0d ? end - 1 : end);
    start = end + 1;
    const { text: lineText, valid } = decode(lineBytes);
    if (lineText.trim() === "") continue; // blank lines (e.g. a trailing newline) are not records
    const record = parseObject(lineText, f.uri, line);
    const text = textOf(record, textField, f.uri, line);
    const id = idOf(record, f.source.idField, `${base}:${line}`, f.uri, line);
    emit(id, text, valid ? textBytes(text) : lineBytes, line);
  }
}

function readJson(raw: Buffer, f: SelectedFile, emit: Emit): void {
  const { text: fileText, valid } = decode(raw);
  const record = parseObject(fileText, f.uri, 1);
  const text = textOf(record, f.source.textField || "text", f.uri, 1);
  const id = idOf(record, f.source.idField, path.posix.basename(f.uri), f.uri, 1);
  emit(id, text, valid ? textBytes(text) : raw, 1);
}

function readText(raw: Buffer, f: SelectedFile, emit: Emit): void {
  const { text, valid } = decode(raw);
  emit(path.posix.basename(f.uri), text, valid ? textBytes(text) : raw, 1);
}

// ----------------------------------------------------------------------------------------------------------
// entry point

/** Documents of every selected file, in reading order; per-file document counts in `perFile`. */
export function ingestFiles(
  files: readonly SelectedFile[],
  configFile: string,
): { documents: Document[]; perFile: number[] } {
  const documents: Document[] = [];
  const perFile = files.map(() => 0);
  files.forEach((f, fileIndex) => {
    const raw = readFileSync(f.fsPath);
    const emit: Emit = (id, text, bytes, line) => {
      perFile[fileIndex] += 1;
      documents.push({
        index: documents.length,
        id,
        text,
        bytes,
        source: f.source.path,
        file: fileIndex,
        uri: f.uri,
        line,
      });
    };
    switch (f.source.format) {
      case DataSource_Format.FORMAT_JSONL:
        return readJsonl(raw, f, emit);
      case DataSource_Format.FORMAT_JSON:
        return readJson(raw, f, emit);
      case DataSource_Format.FORMAT_TEXT:
        return readText(raw, f, emit);
      default:
        throw new ConfigError("DATA_BAD_FORMAT", `unsupported source format ${f.source.format}`, {
          context: { file: configFile, jsonPath: `$.sources[${f.sourceIndex}].format` },
          hint: "use FORMAT_JSONL, FORMAT_JSON or FORMAT_TEXT",
        });
    }
  });
  return { documents, perFile };
}

/** Throws when two documents share an id, naming both locations. */
export function checkUniqueIds(documents: readonly Document[]): void {
  const seen = new Map<string, Document>();
  for (const d of documents) {
    const first = seen.get(d.id);
    if (first !== undefined) {
      throw new ConfigError(
        "DATA_DUPLICATE_ID",
        `document id ${JSON.stringify(d.id)} appears in ${first.uri}:${first.line} and ${d.uri}:${d.line}`,
        {
          context: { file: d.uri, line: d.line, id: d.id, firstFile: first.uri, firstLine: first.line },
          hint: "ids must be unique across all sources: set id_field to a unique field, or rename one of the files (default ids are file basenames)",
        },
      );
    }
    seen.set(d.id, d);
  }
}
