/**
 * Writes docs/diagrams/*.mmd from the machines themselves and refreshes the copies embedded in
 * README.md (session), docs/architecture.md (conductor, child-run) and docs/remote.md (tmux-channel)
 * (`npm run diagrams`).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { childRunMachine } from "../../machines/child-run.machine.js";
import { conductorMachine } from "../../machines/conductor.machine.js";
import { sessionMachine } from "../../machines/session.machine.js";
import { tmuxChannelMachine } from "../../machines/tmux-channel.machine.js";
import { toMermaid } from "../machine-graph.js";

const outDir = resolve(process.argv[2] ?? "docs/diagrams");
mkdirSync(outDir, { recursive: true });
const diagrams = {
  session: toMermaid(sessionMachine),
  conductor: toMermaid(conductorMachine),
  "child-run": toMermaid(childRunMachine),
  "tmux-channel": toMermaid(tmuxChannelMachine),
};
for (const [name, text] of Object.entries(diagrams)) {
  writeFileSync(join(outDir, `${name}.mmd`), text);
  console.log(`wrote ${join(outDir, `${name}.mmd`)}`);
}

/** Replace the mermaid block that starts like `text` (same first two lines) in `file`. */
function refreshEmbedded(file: string, text: string): void {
  if (!existsSync(file)) return;
  const doc = readFileSync(file, "utf8");
  const head = text.split("\n").slice(0, 2).join("\n");
  const start = doc.indexOf(`\`\`\`mermaid\n${head}`);
  if (start < 0) return;
  const end = doc.indexOf("```", start + 10);
  writeFileSync(file, `${doc.slice(0, start)}\`\`\`mermaid\n${text}${doc.slice(end)}`);
  console.log(`refreshed ${file}`);
}
refreshEmbedded(resolve("README.md"), diagrams.session);
refreshEmbedded(resolve("docs/architecture.md"), diagrams.conductor);
refreshEmbedded(resolve("docs/architecture.md"), diagrams["child-run"]);
refreshEmbedded(resolve("docs/remote.md"), diagrams["tmux-channel"]);
