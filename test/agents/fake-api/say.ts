/**
 * The `say` scenario's answers: texts that look like the CLIs' own error lines and questions (a field
 * review: such answers had been judged as the CLI's errors or menus). The latest prompt's `SAY#<n>`
 * picks mimicText(n); a prompt without one gets OK_TEXT.
 */
import { OK_TEXT } from "./scenario.js";

/** Each text alone, as the whole answer (mimicText(0..15)). */
export const MIMIC: readonly string[] = [
  "API Error: Request rejected (429)",
  "Invalid API key · Fix external API key",
  "You've hit your usage limit",
  "Do you want to proceed?\n1. Yes\n2. No",
  "Do you trust the files in this folder?",
  "Overwrite the existing config? (y/n)",
  "Press Enter to continue",
  "exceeded retry limit, last status: 429",
  "Reconnecting... 1/5",
  "Prompt is too long",
  "ran out of room in the model's context window",
  "API key not valid. Please pass a valid API key.",
  "You exceeded your current quota",
  "Retrying after 5739ms...",
  "Not logged in · Please run /login",
  "Context limit reached · /compact or /clear to continue",
];

/** The text inside a normal answer (mimicText(16..31)): a line of its own, a bullet, a code block. */
export function embedded(text: string): string {
  return [
    "I checked the API client against the staging server; here is what it printed.",
    "",
    "The first call failed with:",
    text,
    "",
    `- Seen in the log: ${text.replace(/\n/g, " / ")}`,
    "- I added a retry with exponential backoff around the call.",
    "",
    "```text",
    text,
    "```",
    "",
    "The client now handles this case and all 12 tests pass.",
  ].join("\n");
}

/** k < 16: MIMIC[k] alone; 16 <= k < 32: MIMIC[k - 16] embedded; else OK_TEXT. */
export function mimicText(k: number): string {
  const n = MIMIC.length;
  if (k < n) return MIMIC[k] as string;
  if (k < 2 * n) return embedded(MIMIC[k - n] as string);
  return OK_TEXT;
}

/** The answer to a request body (Anthropic `messages`, OpenAI `input`, Gemini `contents`). */
export function sayText(body: unknown): string {
  const b = (body ?? {}) as { messages?: unknown[]; input?: unknown[]; contents?: unknown[] };
  const list = b.messages ?? b.input ?? b.contents;
  // Only what came after the model's last turn: an earlier turn's marker is not answered again.
  const from = Array.isArray(list)
    ? list.findLastIndex((m) => /"role":"(?:assistant|model)"/.test(JSON.stringify(m))) + 1
    : 0;
  const text = JSON.stringify(Array.isArray(list) ? list.slice(from) : (body ?? ""));
  const last = [...text.matchAll(/SAY#(\d+)/g)].at(-1);
  return last ? mimicText(Number(last[1])) : OK_TEXT;
}
