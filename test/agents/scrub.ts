/**
 * Machine paths and keys out of recordings. Runs are made in short fixed directories whose length
 * equals their placeholder's (`/rc/HH` ↔ `<HOME>`), so a scrubbed TUI keeps its box widths.
 */
import { FAKE_KEYS } from "./agent-env.js";

export interface ScrubRule {
  from: string;
  to: string;
}

export function scrubber(rules: ScrubRule[]): (text: string) => string {
  // Longest first: a run directory inside the repository is replaced before the repository.
  const sorted = [...rules].filter((r) => r.from !== "").sort((a, b) => b.from.length - a.from.length);
  return (text) => {
    let out = text;
    for (const r of sorted) out = out.split(r.from).join(r.to);
    // Whatever machine path is left (a temp dir, the checkout) becomes <PATH>.
    out = out.replace(/\/(?:work|tmp|root)\/[^\s"'\x1b\x07:)\]]*/g, "<PATH>");
    return out;
  };
}

/** Keys that must never be in a fixture; the fake ones are allowed (they are obviously fake). */
export function findSecrets(text: string): string[] {
  const fake = new Set<string>(Object.values(FAKE_KEYS));
  const found: string[] = [];
  for (const m of text.matchAll(/\b(sk-ant-[A-Za-z0-9_-]{10,}|sk-[A-Za-z0-9_-]{20,}|AIza[0-9A-Za-z_-]{30,})/g)) {
    if (![...fake].some((f) => f.startsWith(m[1] ?? ""))) found.push(m[1] ?? "");
  }
  return found;
}
