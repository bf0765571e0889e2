/**
 * The rows a TUI draws for a tool call and what the tool printed: the model's command and the tool's
 * words, never the CLI's own. A field probe (2026-12-06, the fake API asking for a shell call that
 * prints another CLI's error words and exits 1, as an agent running another CLI or an API client
 * does): claude 2.1.332 with `--verbose` redraws a failed call's output in its own error colour
 * (`#ff6b80`) under `⎿  Error: Exit code 1`, and gemini 0.61 shows it in its tool box in the default
 * ink; both were judged as the CLI failing (dead on `Invalid API key · …`, restarted on a 429, each
 * restart running the tool again). Their live failure rules do not read these rows (judge.ts).
 * codex 0.171 draws a tool's output dim in the default ink: its ink rule already leaves it out.
 */

/** A row at column 0 begins the next item of claude's transcript (`●`, `❯`, `✻`, a rule). */
const CLAUDE_ITEM = /^\S/;
/**
 * A tool call's head: `● Bash(…`, `● Update(…`, `● server - tool (MCP)(…`. Not claude's own `● API Error:
 * Request rejected (429)` nor the model's `● There's an issue (…)`: a tool's name holds no `:` or `'`.
 */
const CLAUDE_TOOL_CALL = /^●\s+[A-Za-z][\w .-]*\(/;
/** A row claude nests under an item: `  ⎿  ` then its words. */
const CLAUDE_NESTED = /^\s+⎿\s/;
/** The tool's failure, however nested: `  ⎿  Error: Exit code 1` (Bash), `  ⎿  Error: <the tool's message>`. */
const CLAUDE_TOOL_ERROR = /^\s+⎿\s+Error:/;

/**
 * claude: a tool call's rows, from its head to the next item, blanked. The first nested row is the
 * tool's result (`⎿  <its first line>`, `⎿  (No content)`, `⎿  Error: …`); a later one that is no
 * `Error:` is kept, as claude's own error may be one (its refused key is drawn `  ⎿  Invalid API key`).
 */
export function claudeToolRows(rows: readonly string[]): readonly string[] {
  let out: string[] | null = null;
  let inCall = false;
  let resultSeen = false;
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i] as string;
    if (CLAUDE_ITEM.test(row)) {
      inCall = CLAUDE_TOOL_CALL.test(row);
      resultSeen = false;
    }
    if (!inCall || row === "") continue;
    if (CLAUDE_NESTED.test(row)) {
      const result = !resultSeen;
      resultSeen = true;
      if (!result && !CLAUDE_TOOL_ERROR.test(row)) continue;
    }
    out ??= rows.slice();
    out[i] = "";
  }
  return out ?? rows;
}

const GEMINI_BOX_TOP = /^(\s*)╭─/;
/**
 * A tool box's head row: its status glyph (✓ done, x/✕ failed, ? asking, o pending, - cancelled, ⊶/⊷
 * or a spinner's braille while it runs), then the tool's name: `│ ✓  Shell Call the staging API client`.
 * gemini's own boxes (its usage-limit dialog, its trust question) begin with words.
 */
const GEMINI_TOOL_HEAD = /^\s*│\s*(?:[✓✔x✕?o⊶⊷-]|[\u2800-\u28ff])\s+[A-Z]/;

/** A row of a box's body: its left border, or its right one (the row's start cut off). */
const GEMINI_BOX_ROW = /^\s*│|│\s*$/;

/**
 * gemini: each tool box blanked, from its top through the rows its left border runs down to its bottom.
 * A box cut off (drawn in part, or past the screen's end) ends with its last bordered row: nothing
 * below it is the tool's.
 */
export function geminiToolRows(rows: readonly string[]): readonly string[] {
  let out: string[] | null = null;
  // The rows begin inside a box whose top is gone (scrolled past): gemini's own dialogs sit at the
  // bottom of its screen, under their top; such a box is a tool's, its output longer than the screen
  // (recorded tui-toolfail-auth-json: the lines that scrolled past begin `key.","status":"INVALID_ │`).
  let first = 0;
  while (first < rows.length && GEMINI_BOX_ROW.test(rows[first] as string)) first++;
  if (first > 0 && (rows[first] ?? "").trimStart().startsWith("╰")) first++;
  if (first > 0) out = [...new Array<string>(first).fill(""), ...rows.slice(first)];
  for (let i = first; i < rows.length; i++) {
    const top = GEMINI_BOX_TOP.exec(rows[i] as string);
    if (!top || !GEMINI_TOOL_HEAD.test(rows[i + 1] ?? "")) continue;
    const indent = (top[1] as string).length;
    let end = i + 1;
    while (end + 1 < rows.length && (rows[end + 1] as string).startsWith("│", indent)) end++;
    if ((rows[end + 1] ?? "").startsWith("╰", indent)) end++;
    out ??= rows.slice();
    for (let j = i; j <= end; j++) out[j] = "";
    i = end;
  }
  return out ?? rows;
}
