// Where a malformed JSON text goes wrong, for error messages that name file:line:column.
//
// V8's JSON.parse messages carry a position only for some errors ("Unexpected token '}', … is not valid JSON"
// has none) and their wording changes between Node versions, so on the error path (never for valid input) this
// small recursive-descent scanner re-reads the text and returns the offset of the first character that cannot
// continue a JSON value (RFC 8259).

/** Thrown inside the scanner to unwind to the offending offset. */
class SyntaxStop {
  constructor(readonly offset: number) {}
}

const WHITESPACE = new Set([" ", "\t", "\n", "\r"]);
const ESCAPES = new Set(['"', "\\", "/", "b", "f", "n", "r", "t"]);
const isDigit = (c: string | undefined): boolean => c !== undefined && c >= "0" && c <= "9";
const isHex = (c: string | undefined): boolean => c !== undefined && /^[0-9a-fA-F]$/.test(c);

/** Offset (UTF-16 code units) of the first syntax error in `text`, or -1 when `text` is valid JSON. */
export function jsonErrorOffset(text: string): number {
  let i = 0;
  const stop = (): never => {
    throw new SyntaxStop(i);
  };
  const ws = (): void => {
    while (i < text.length && WHITESPACE.has(text[i])) i++;
  };
  const literal = (word: string): void => {
    for (const ch of word) {
      if (text[i] !== ch) stop();
      i++;
    }
  };
  const digits = (): void => {
    if (!isDigit(text[i])) stop();
    while (isDigit(text[i])) i++;
  };
  const number = (): void => {
    if (text[i] === "-") i++;
    if (text[i] === "0") i++;
    else digits();
    if (text[i] === ".") {
      i++;
      digits();
    }
    if (text[i] === "e" || text[i] === "E") {
      i++;
      if (text[i] === "+" || text[i] === "-") i++;
      digits();
    }
  };
  const string = (): void => {
    i++; // opening quote
    for (;;) {
      if (i >= text.length) stop();
      const c = text[i];
      if (c === '"') {
        i++;
        return;
      }
      if (c.charCodeAt(0) < 0x20) stop(); // raw control characters must be escaped
      if (c === "\\") {
        i++;
        if (text[i] === "u") {
          for (let k = 1; k <= 4; k++) {
            if (!isHex(text[i + k])) {
              i += k;
              stop();
            }
          }
          i += 5;
        } else if (ESCAPES.has(text[i])) {
          i++;
        } else {
          stop();
        }
      } else {
        i++;
      }
    }
  };
  const value = (): void => {
    ws();
    switch (text[i]) {
      case "{":
        return object();
      case "[":
        return array();
      case '"':
        return string();
      case "t":
        return literal("true");
      case "f":
        return literal("false");
      case "n":
        return literal("null");
      default:
        if (text[i] === "-" || isDigit(text[i])) return number();
        stop();
    }
  };
  const object = (): void => {
    i++;
    ws();
    if (text[i] === "}") {
      i++;
      return;
    }
    for (;;) {
      ws();
      if (text[i] !== '"') stop();
      string();
      ws();
      if (text[i] !== ":") stop();
      i++;
      value();
      ws();
      if (text[i] === ",") i++;
      else if (text[i] === "}") return void i++;
      else stop();
    }
  };
  const array = (): void => {
    i++;
    ws();
    if (text[i] === "]") {
      i++;
      return;
    }
    for (;;) {
      value();
      ws();
      if (text[i] === ",") i++;
      else if (text[i] === "]") return void i++;
      else stop();
    }
  };
  try {
    value();
    ws();
    if (i < text.length) stop();
    return -1;
  } catch (err) {
    if (err instanceof SyntaxStop) return err.offset;
    if (err instanceof RangeError) return i; // nesting deeper than the call stack: report where it got to
    throw err;
  }
}

/** 1-based line and column (in characters) of `offset` in `text`. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const lastNewline = before.lastIndexOf("\n");
  return { line: before.split("\n").length, column: offset - lastNewline };
}

/** What the scanner found at `offset`, for the message: `unexpected "}"` or `unexpected end of input`. */
export function describeOffset(text: string, offset: number): string {
  return offset >= text.length ? "unexpected end of input" : `unexpected ${JSON.stringify(text[offset])}`;
}
