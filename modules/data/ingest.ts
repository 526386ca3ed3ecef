// Ingest: raw files → documents (id, text, the bytes the gate sees, source, location), in reading order.
//
//   FORMAT_JSONL    one JSON object per non-blank line (LF or CRLF); text from `text_field` (default "text"), id
//                   from `id_field` (a string or an integer) or "<file basename>:<line>"
//   FORMAT_JSON     the whole file is one JSON object; text and id fields as for JSONL, default id the basename
//   FORMAT_TEXT     the whole file is one document; id the basename
//   FORMAT_PARQUET  one document per row (hyparquet, every codec it decodes, snappy included); text from the
//                   column `text_field`, id from the column `id_field` or "<file basename>:<row>" (1-based)
//
// JSONL, JSON and TEXT files may be gzip-compressed: a file starting with the gzip magic bytes (1f 8b) is
// decompressed through a streaming node:zlib gunzip whatever its name; a file named `*.gz` without them is an
// error. Text is decoded with the source's `encoding` (utf-8, latin-1 = ISO-8859-1 byte → code point,
// windows-1252 per the WHATWG table); a UTF-8 byte order mark at the start of a utf-8 file is stripped.
//
// Malformed input is a ConfigError naming file:line (and the column of a JSON syntax error, the field of a
// missing or mistyped text/id). Invalid UTF-8 follows `on_invalid_utf8`: DROP (default) keeps the raw bytes, so
// the kernel gate drops the document as `invalid_utf8` (a JSON string with an unpaired surrogate escape such as
// "\ud800" has no UTF-8 form either: the gate gets its WTF-8 bytes, which are invalid UTF-8, with the same
// result); ERROR fails naming the file, line (or row) and byte offset; REPLACE substitutes U+FFFD.

import { createReadStream } from "fs";
import { open, readFile } from "fs/promises";
import * as path from "path";
import { createGunzip } from "zlib";

import { parquetMetadata, parquetReadObjects, parquetSchema } from "hyparquet";

import { describeOffset, jsonErrorOffset, lineColumn } from "@nexa/modules/manifest";
import { ConfigError } from "@nexa/modules/monitoring";
import { DataSource_Format, DataSource_OnInvalidUtf8 } from "@nexa/proto/nexa/v1/data_config";

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
  /** Raw file (its recorded uri) and 1-based line (Parquet: row, see `unit`), for errors and exclusions. */
  uri: string;
  line: number;
  unit: LocationUnit;
}

/** What `Document.line` counts: lines of a text file, or rows of a Parquet file. */
export type LocationUnit = "line" | "row";

// ----------------------------------------------------------------------------------------------------------
// decoding

const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const lenientUtf8 = new TextDecoder("utf-8", { ignoreBOM: true });

// windows-1252 bytes 0x80..0x9f (WHATWG Encoding table; the five it leaves undefined map to the C1 control of the
// same value). Node 20's TextDecoder("windows-1252") decodes these as ISO-8859-1, so the stage maps them itself;
// every other byte is the code point of the same value in both encodings.
const WINDOWS_1252_C1 =
  "\u20ac\u0081\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039\u0152\u008d\u017d\u008f" +
  "\u0090\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\u009d\u017e\u0178";

/** ISO-8859-1 text of `bytes` (each byte the code point of the same value). */
function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString("latin1");
}

/** windows-1252 text of `bytes`. */
export function decodeWindows1252(bytes: Uint8Array): string {
  return latin1(bytes).replace(/[\u0080-\u009f]/g, (c) => WINDOWS_1252_C1[c.charCodeAt(0) - 0x80]);
}

/** The supported values of DataSource.encoding ("" = utf-8). */
export const ENCODINGS = ["utf-8", "latin-1", "windows-1252"] as const;
export type Encoding = (typeof ENCODINGS)[number];

/** The encoding of a source; an unknown name is a ConfigError naming `sources[i].encoding`. */
export function sourceEncoding(f: Pick<SelectedFile, "source" | "sourceIndex">, configFile: string): Encoding {
  const name = f.source.encoding === "" ? "utf-8" : f.source.encoding;
  if ((ENCODINGS as readonly string[]).includes(name)) return name as Encoding;
  throw new ConfigError(
    "DATA_BAD_ENCODING",
    `sources[${f.sourceIndex}].encoding ${JSON.stringify(f.source.encoding)} is not supported`,
    {
      context: { file: configFile, jsonPath: `$.sources[${f.sourceIndex}].encoding`, value: f.source.encoding },
      hint: `use one of ${ENCODINGS.map((e) => JSON.stringify(e)).join(", ")} (empty = "utf-8")`,
    },
  );
}

/** Byte offset of the first invalid UTF-8 sequence in `b`, or -1 when it is valid UTF-8. */
export function firstInvalidUtf8(b: Uint8Array): number {
  for (let i = 0; i < b.length;) {
    const c = b[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    let n: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) n = 1;
    else if (c >= 0xe0 && c <= 0xef) {
      n = 2;
      if (c === 0xe0) lo = 0xa0;
      if (c === 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3;
      if (c === 0xf0) lo = 0x90;
      if (c === 0xf4) hi = 0x8f;
    } else return i;
    if (i + n >= b.length) return i;
    if (b[i + 1] < lo || b[i + 1] > hi) return i;
    for (let k = 2; k <= n; k++) if (b[i + k] < 0x80 || b[i + k] > 0xbf) return i;
    i += n + 1;
  }
  return -1;
}

/** How one source decodes its bytes. */
interface Decoding {
  encoding: Encoding;
  onInvalid: DataSource_OnInvalidUtf8;
}

/** Text of `bytes` and whether it is valid (always, but for invalid UTF-8 under DROP or ERROR). */
function decode(bytes: Uint8Array, d: Decoding): { text: string; valid: boolean } {
  if (d.encoding === "latin-1") return { text: latin1(bytes), valid: true };
  if (d.encoding === "windows-1252") return { text: decodeWindows1252(bytes), valid: true };
  try {
    return { text: strictUtf8.decode(bytes), valid: true };
  } catch {
    return { text: lenientUtf8.decode(bytes), valid: d.onInvalid === DataSource_OnInvalidUtf8.ON_INVALID_UTF8_REPLACE };
  }
}

/** The error of invalid UTF-8 under ON_INVALID_UTF8_ERROR. */
function invalidUtf8Error(
  f: SelectedFile,
  at: { line: number; unit: LocationUnit; byteOffset?: number },
  what: string,
): ConfigError {
  const where = at.byteOffset === undefined ? "" : ` at byte offset ${at.byteOffset}`;
  return new ConfigError("DATA_INVALID_UTF8", `${what}${where} (${at.unit} ${at.line})`, {
    context: {
      file: f.uri,
      [at.unit]: at.line,
      ...(at.byteOffset === undefined ? {} : { byteOffset: at.byteOffset }),
    },
    hint: `if the file is not UTF-8, set sources[${f.sourceIndex}].encoding to "latin-1" or "windows-1252"; to keep such text with U+FFFD set sources[${f.sourceIndex}].on_invalid_utf8 to ON_INVALID_UTF8_REPLACE, to drop it ON_INVALID_UTF8_DROP`,
  });
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

/** A raw file that a library (hyparquet, zlib) could not read: `what` and the library's message, with the fix. */
function readFailure(code: string, what: string, err: unknown, f: SelectedFile, hint: string): ConfigError {
  return new ConfigError(code, `${what}: ${err instanceof Error ? err.message : String(err)}`, {
    context: { file: f.uri },
    hint,
    cause: err,
  });
}

type Emit = (id: string, text: string, bytes: Uint8Array, line: number) => void;

/** What a reader needs besides the bytes. */
interface Reader {
  f: SelectedFile;
  d: Decoding;
  emit: Emit;
}

const UTF8_BOM = [0xef, 0xbb, 0xbf];

/** Length of a UTF-8 byte order mark at the start of `raw` (utf-8 sources only), else 0. */
function bomLength(raw: Buffer, d: Decoding): number {
  return d.encoding === "utf-8" && raw.length >= 3 && UTF8_BOM.every((b, k) => raw[k] === b) ? 3 : 0;
}

/** The text of a record's bytes under the source's decoding; throws under ON_INVALID_UTF8_ERROR. */
function decodeChecked(r: Reader, bytes: Uint8Array, line: number, unit: LocationUnit, fileOffset: number) {
  const decoded = decode(bytes, r.d);
  if (!decoded.valid && r.d.onInvalid === DataSource_OnInvalidUtf8.ON_INVALID_UTF8_ERROR)
    throw invalidUtf8Error(r.f, { line, unit, byteOffset: fileOffset + firstInvalidUtf8(bytes) }, "invalid UTF-8");
  return decoded;
}

/** The gate bytes of a record's text: the text's UTF-8, with JSON's unpaired surrogate escapes per the policy. */
function recordBytes(r: Reader, text: string, raw: Uint8Array, valid: boolean, line: number): [string, Uint8Array] {
  if (!valid) return [text, raw];
  if (!LONE_SURROGATE.test(text)) return [text, Buffer.from(text, "utf8")];
  if (r.d.onInvalid === DataSource_OnInvalidUtf8.ON_INVALID_UTF8_ERROR)
    throw invalidUtf8Error(
      r.f,
      { line, unit: "line" },
      "the text holds an unpaired surrogate escape (e.g. \\ud800), which has no UTF-8 form",
    );
  if (r.d.onInvalid === DataSource_OnInvalidUtf8.ON_INVALID_UTF8_REPLACE) {
    const fixed = text.replace(/[\uD800-\uDFFF]/gu, "\uFFFD");
    return [fixed, Buffer.from(fixed, "utf8")];
  }
  return [text, textBytes(text)];
}

function readJsonl(raw: Buffer, r: Reader): void {
  const { f } = r;
  const base = path.posix.basename(f.uri);
  const textField = f.source.textField || "text";
  let start = bomLength(raw, r.d);
  for (let line = 1; start < raw.length; line++) {
    const nl = raw.indexOf(0x0a, start);
    const end = nl < 0 ? raw.length : nl;
    const lineStart = start;
    const lineBytes = raw.subarray(start, end > start && raw[end - 1] === 0x0d ? end - 1 : end);
    start = end + 1;
    const { text: lineText, valid } = decodeChecked(r, lineBytes, line, "line", lineStart);
    if (lineText.trim() === "") continue; // blank lines (e.g. a trailing newline) are not records
    const record = parseObject(lineText, f.uri, line);
    const id = idOf(record, f.source.idField, `${base}:${line}`, f.uri, line);
    const [text, bytes] = recordBytes(r, textOf(record, textField, f.uri, line), lineBytes, valid, line);
    r.emit(id, text, bytes, line);
  }
}

function readJson(raw: Buffer, r: Reader): void {
  const { f } = r;
  const bom = bomLength(raw, r.d);
  const body = raw.subarray(bom);
  const { text: fileText, valid } = decodeChecked(r, body, 1, "line", bom);
  const record = parseObject(fileText, f.uri, 1);
  const id = idOf(record, f.source.idField, path.posix.basename(f.uri), f.uri, 1);
  const [text, bytes] = recordBytes(r, textOf(record, f.source.textField || "text", f.uri, 1), body, valid, 1);
  r.emit(id, text, bytes, 1);
}

function readText(raw: Buffer, r: Reader): void {
  const bom = bomLength(raw, r.d);
  const body = raw.subarray(bom);
  const { text, valid } = decodeChecked(r, body, 1, "line", bom);
  r.emit(path.posix.basename(r.f.uri), text, valid ? textBytes(text) : body, 1);
}

/** Rows of a Parquet file: the text column (and the id column when set), byte arrays undecoded. */
async function readParquet(raw: Buffer, r: Reader): Promise<void> {
  const { f } = r;
  const textField = f.source.textField || "text";
  const idField = f.source.idField;
  const file = raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length) as ArrayBuffer;
  let rows: Array<Record<string, unknown>>;
  try {
    const metadata = parquetMetadata(file);
    const columns = parquetSchema(metadata).children.map((c) => c.element.name);
    for (const [field, name] of [
      ["text_field", textField],
      ["id_field", idField],
    ]) {
      if (name !== "" && !columns.includes(name)) {
        throw new ConfigError("DATA_BAD_PARQUET_COLUMN", `Parquet file has no column ${JSON.stringify(name)}`, {
          context: { file: f.uri, field: name, columns: columns.join(", ") },
          hint: `set sources[${f.sourceIndex}].${field} to one of its columns: ${columns.join(", ")}`,
        });
      }
    }
    rows = await parquetReadObjects({
      file,
      metadata,
      columns: idField === "" ? [textField] : [textField, idField],
      utf8: false,
    });
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw readFailure(
      "DATA_MALFORMED_PARQUET",
      "cannot read the Parquet file",
      err,
      f,
      "check that the file is a complete Parquet file (FORMAT_PARQUET reads Apache Parquet, not gzip-compressed)",
    );
  }
  const base = path.posix.basename(f.uri);
  rows.forEach((row, k) => {
    const line = k + 1;
    const at = { file: f.uri, line, jsonPath: `$.${textField}`, field: textField };
    const value = row[textField];
    let bytes: Uint8Array;
    if (value instanceof Uint8Array) bytes = value;
    else if (typeof value === "string") bytes = Buffer.from(value, "utf8");
    else {
      const found = value === null || value === undefined ? "null" : `a ${typeof value}`;
      throw new ConfigError(
        "DATA_BAD_TEXT_FIELD",
        `text column ${JSON.stringify(textField)} is ${found} in row ${line}, not a string`,
        {
          context: at,
          hint: `set sources[${f.sourceIndex}].text_field to a string column of the file, or remove rows without text`,
        },
      );
    }
    const decoded = decode(bytes, r.d);
    if (!decoded.valid && r.d.onInvalid === DataSource_OnInvalidUtf8.ON_INVALID_UTF8_ERROR)
      throw invalidUtf8Error(
        f,
        { line, unit: "row", byteOffset: firstInvalidUtf8(bytes) },
        `invalid UTF-8 in column ${JSON.stringify(textField)}, value`,
      );
    let id = `${base}:${line}`;
    if (idField !== "") {
      const raw = row[idField];
      const v =
        raw instanceof Uint8Array
          ? lenientUtf8.decode(raw)
          : typeof raw === "bigint" && raw >= BigInt(Number.MIN_SAFE_INTEGER) && raw <= BigInt(Number.MAX_SAFE_INTEGER)
            ? Number(raw)
            : raw;
      id = idOf({ [idField]: v }, idField, id, f.uri, line);
    }
    r.emit(id, decoded.text, decoded.valid ? textBytes(decoded.text) : bytes, line);
  });
}

// ----------------------------------------------------------------------------------------------------------
// reading a raw file (gzip)

const GZIP_MAGIC = [0x1f, 0x8b];

/** The first bytes of a file. */
async function head(fsPath: string, n: number): Promise<Buffer> {
  const handle = await open(fsPath, "r");
  try {
    const buf = Buffer.alloc(n);
    const { bytesRead } = await handle.read(buf, 0, n, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** Whether a raw file is gzip-compressed (its magic bytes); a `*.gz` name without them is an error. */
export async function isGzip(f: SelectedFile): Promise<boolean> {
  const magic = await head(f.fsPath, 2);
  const gzip = magic.length === 2 && GZIP_MAGIC.every((b, k) => magic[k] === b);
  if (!gzip && f.uri.endsWith(".gz")) {
    throw new ConfigError("DATA_BAD_GZIP", "the file is named .gz but is not gzip-compressed (no 1f 8b magic bytes)", {
      context: { file: f.uri },
      hint: "compress it with gzip, or drop the .gz suffix from its name",
    });
  }
  return gzip;
}

/** The bytes of a raw file, gunzipped (streaming) when it is gzip. */
async function readRaw(f: SelectedFile, gzip: boolean): Promise<Buffer> {
  if (!gzip) return readFile(f.fsPath);
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of createReadStream(f.fsPath).pipe(createGunzip())) chunks.push(chunk as Buffer);
  } catch (err) {
    throw readFailure(
      "DATA_BAD_GZIP",
      "cannot decompress the gzip file",
      err,
      f,
      "the file is truncated or corrupt: re-create it with gzip (gzip -t checks it)",
    );
  }
  return Buffer.concat(chunks);
}

// ----------------------------------------------------------------------------------------------------------
// entry point

/** The readers of the non-Parquet formats. */
const TEXT_READERS: Partial<Record<DataSource_Format, (raw: Buffer, r: Reader) => void>> = {
  [DataSource_Format.FORMAT_JSONL]: readJsonl,
  [DataSource_Format.FORMAT_JSON]: readJson,
  [DataSource_Format.FORMAT_TEXT]: readText,
};

/** Checks the source fields of every selected file before anything is read. */
function checkSources(files: readonly SelectedFile[], configFile: string): void {
  for (const f of files) {
    const known = f.source.format === DataSource_Format.FORMAT_PARQUET || TEXT_READERS[f.source.format] !== undefined;
    if (!known) {
      throw new ConfigError("DATA_BAD_FORMAT", `unsupported source format ${f.source.format}`, {
        context: { file: configFile, jsonPath: `$.sources[${f.sourceIndex}].format` },
        hint: "use FORMAT_JSONL, FORMAT_JSON, FORMAT_TEXT or FORMAT_PARQUET",
      });
    }
    sourceEncoding(f, configFile);
  }
}

/** Documents of every selected file, in reading order; per-file document counts and gzip flags. */
export async function ingestFiles(
  files: readonly SelectedFile[],
  configFile: string,
): Promise<{ documents: Document[]; perFile: number[]; gzip: boolean[] }> {
  checkSources(files, configFile);
  const documents: Document[] = [];
  const perFile = files.map(() => 0);
  const gzip: boolean[] = [];
  for (const [fileIndex, f] of files.entries()) {
    const parquet = f.source.format === DataSource_Format.FORMAT_PARQUET;
    const compressed = await isGzip(f);
    gzip.push(compressed);
    if (parquet && compressed) {
      throw new ConfigError("DATA_BAD_GZIP", "a Parquet file cannot be gzip-compressed as a whole", {
        context: { file: f.uri, jsonPath: `$.sources[${f.sourceIndex}].format` },
        hint: "gunzip it (Parquet compresses its columns itself, e.g. with snappy)",
      });
    }
    const raw = await readRaw(f, compressed);
    const unit: LocationUnit = parquet ? "row" : "line";
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
        unit,
      });
    };
    const reader: Reader = {
      f,
      d: { encoding: sourceEncoding(f, configFile), onInvalid: f.source.onInvalidUtf8 },
      emit,
    };
    if (parquet) await readParquet(raw, reader);
    else TEXT_READERS[f.source.format]!(raw, reader);
  }
  return { documents, perFile, gzip };
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
