// Stop strings over a text stream that arrives in token-sized pieces: a stop string may span several tokens, so any
// suffix of the pending text that could still become a stop string is held back until the next piece decides it;
// at the end of the generation the held-back text is released (flush). The stop string itself is never emitted.

export interface StopResult {
  /** Text that is now certain to be part of the output. */
  emit: string;
  /** True when a stop string was found: `emit` ends right before it and the generation should end. */
  stopped: boolean;
}

export class StopMatcher {
  private pending = "";
  private done = false;

  constructor(private readonly stops: readonly string[]) {}

  /** Adds a piece of generated text. */
  push(text: string): StopResult {
    if (this.done) return { emit: "", stopped: true };
    this.pending += text;
    let first = -1;
    for (const s of this.stops) {
      const at = this.pending.indexOf(s);
      if (at >= 0 && (first < 0 || at < first)) first = at;
    }
    if (first >= 0) {
      const emit = this.pending.slice(0, first);
      this.pending = "";
      this.done = true;
      return { emit, stopped: true };
    }
    const hold = this.heldBack();
    const emit = this.pending.slice(0, this.pending.length - hold);
    this.pending = this.pending.slice(this.pending.length - hold);
    return { emit, stopped: false };
  }

  /** The end of the generation: whatever was held back is output after all. */
  flush(): string {
    const rest = this.done ? "" : this.pending;
    this.pending = "";
    return rest;
  }

  /** Length of the longest suffix of the pending text that is a proper prefix of some stop string. */
  private heldBack(): number {
    let best = 0;
    for (const s of this.stops) {
      for (let k = Math.min(s.length - 1, this.pending.length); k > best; k--) {
        if (this.pending.endsWith(s.slice(0, k))) {
          best = k;
          break;
        }
      }
    }
    return best;
  }
}
