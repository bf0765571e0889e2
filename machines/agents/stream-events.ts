/**
 * Stream-json events as the judgement reads them (claude `--output-format stream-json`, codex
 * `--json`, gemini `--output-format stream-json`): which are errors, and the words an event carries.
 */

/** Stream-json error events (claude, codex `--json`, gemini): their code and message. */
export function streamErrors(recentOutput: string): { code: string | null; message: string }[] {
  const out: { code: string | null; message: string }[] = [];
  for (const raw of recentOutput.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line.startsWith("{") || !line.endsWith("}")) continue;
    let ev: Record<string, unknown>;
    try {
      ev = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue;
    }
    const err = ev.error;
    const failed =
      ev.type === "error" ||
      ev.type === "turn.failed" ||
      ev.is_error === true ||
      ev.status === "error" ||
      typeof err === "string" ||
      (typeof err === "object" && err !== null);
    if (!failed) continue;
    const errObj = typeof err === "object" && err !== null ? (err as Record<string, unknown>) : {};
    const code = typeof err === "string" ? err : (str(errObj.code) ?? str(errObj.type) ?? str(ev.code));
    const message =
      str(ev.message) ?? str(errObj.message) ?? str(ev.result) ?? assistantText(ev.message) ?? code ?? "error";
    out.push({ code, message });
  }
  return out;
}

export const str = (v: unknown) => (typeof v === "string" && v !== "" ? v : null);
export function assistantText(message: unknown): string | null {
  const content = (message as { content?: unknown } | null)?.content;
  if (!Array.isArray(content)) return null;
  return str((content.find((c) => (c as { type?: unknown })?.type === "text") as { text?: unknown })?.text);
}
