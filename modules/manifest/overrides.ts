// Config overrides (`nexa run --set stage.field=value`): the stage rule passes a stage its own entries as
// `--set=field=value`; the stage runtime (modules/stage) applies them to the config's JSON before the strict decode, so an override is
// validated exactly like the file (unknown field, wrong type: a ConfigError with the JSON path) and joins the
// config digest (only that stage's stage_id changes). The CLI checks overrides with the same functions first.

import { ConfigError } from "@nexa/modules/monitoring";

/** One override of a stage config field. */
export interface FieldOverride {
  /** Dotted path of proto3 JSON names (snake_case accepted), array elements by index: "optimizer.lr", "sources.0.path". */
  field: string;
  /** A JSON literal (number, boolean, null, quoted string, array, object), else taken as a plain string. */
  value: string;
}

/** An override as `nexa run --set` takes it: `stage.field=value`. */
export interface StageOverride extends FieldOverride {
  stage: string;
}

const SEGMENT_RE = /^(?:[A-Za-z_][A-Za-z0-9_]*|\d+)$/;
const EXAMPLE = "train.steps=20";

function badOverride(text: string, why: string): ConfigError {
  return new ConfigError("CONFIG_BAD_OVERRIDE", `override ${JSON.stringify(text)}: ${why}`, {
    hint: `write --set stage.field=value, e.g. --set ${EXAMPLE} (field names as in the config's JSON)`,
  });
}

/** Parses `field=value` (a stage action's `--set`). */
export function parseFieldOverride(text: string): FieldOverride {
  const eq = text.indexOf("=");
  if (eq < 1) throw badOverride(text, "expected field=value");
  const field = text.slice(0, eq);
  if (!field.split(".").every((s) => SEGMENT_RE.test(s))) throw badOverride(text, `field path ${field} is not a.b.c`);
  return { field, value: text.slice(eq + 1) };
}

/** Parses `stage.field=value` (`nexa run --set`). Values may not contain "," (Bazel's list separator). */
export function parseStageOverride(text: string): StageOverride {
  const dot = text.indexOf(".");
  const eq = text.indexOf("=");
  if (dot < 1 || eq < 0 || dot > eq) throw badOverride(text, "expected stage.field=value");
  const stage = text.slice(0, dot);
  if (!/^[A-Za-z0-9_-]+$/.test(stage)) throw badOverride(text, `stage name ${stage} is not a target name`);
  if (text.includes(",")) throw badOverride(text, 'a value may not contain "," (Bazel splits list settings on it)');
  return { stage, ...parseFieldOverride(text.slice(dot + 1)) };
}

/** The value of an override: a JSON literal when it parses as one, else the text itself (a string). */
export function overrideValue(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

const camel = (s: string): string => s.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/**
 * A copy of the config's JSON object with the overrides applied in order. Missing intermediate objects are created;
 * an existing key spelled in snake_case is replaced in place. Unknown names are left for the strict decode to
 * reject (it names the JSON path and the known fields).
 */
export function applyOverrides(config: unknown, overrides: readonly FieldOverride[], file: string): unknown {
  const root = JSON.parse(JSON.stringify(config)) as unknown;
  for (const o of overrides) {
    const segments = o.field.split(".");
    let node = root as Record<string, unknown> | unknown[];
    for (let i = 0; i < segments.length; i++) {
      const seg = segments[i];
      const last = i === segments.length - 1;
      const where = segments.slice(0, i).join(".") || "the config";
      if (Array.isArray(node)) {
        const index = Number(seg);
        if (!/^\d+$/.test(seg) || index >= node.length) {
          throw new ConfigError("CONFIG_BAD_OVERRIDE", `${file}: --set ${o.field}: ${where} has no element ${seg}`, {
            context: { file, jsonPath: `$.${o.field}` },
            hint: `${where} is a list of ${node.length}; use an index from 0 to ${node.length - 1}`,
          });
        }
        if (last) node[index] = overrideValue(o.value);
        else node = node[index] as Record<string, unknown>;
        continue;
      }
      if (node === null || typeof node !== "object") {
        throw new ConfigError("CONFIG_BAD_OVERRIDE", `${file}: --set ${o.field}: ${where} is not an object`, {
          context: { file, jsonPath: `$.${o.field}` },
          hint: `set ${where} itself, e.g. --set ${where}=<JSON value>`,
        });
      }
      const key = seg in node ? seg : camel(seg);
      if (last) node[key] = overrideValue(o.value);
      else {
        if (!(key in node) || node[key] === null) node[key] = /^\d+$/.test(segments[i + 1]) ? [] : {};
        node = node[key] as Record<string, unknown>;
      }
    }
  }
  return root;
}
