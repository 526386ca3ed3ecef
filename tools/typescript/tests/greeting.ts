// A tiny TS package proving ts_project: typed greeting built from a generated protobuf message.
import { Greeting } from "@nexa/tools/proto/tests/greeting";

/** Renders a Greeting as one line, e.g. "hello, nexa (x2)". */
export function renderGreeting(g: Greeting): string {
  const times = g.repeat > 1 ? ` (x${g.repeat})` : "";
  return `hello, ${g.name}${times}`;
}

/** Builds a Greeting, rejecting empty names. */
export function makeGreeting(name: string, repeat = 1): Greeting {
  if (name.length === 0) {
    throw new Error("makeGreeting: name is empty; pass a non-empty name");
  }
  return Greeting.fromPartial({ name, repeat });
}
