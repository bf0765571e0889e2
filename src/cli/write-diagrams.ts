/**
 * Writes docs/diagrams/*.mmd from the machines themselves and refreshes the copy embedded in each
 * one's document (src/machine-diagrams.ts says which) (`npm run diagrams`).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { MACHINE_DIAGRAMS } from "../machine-diagrams.js";
import { toMermaid } from "../machine-graph.js";

const outDir = resolve(process.argv[2] ?? "docs/diagrams");
mkdirSync(outDir, { recursive: true });

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

for (const { name, machine, embeddedIn } of MACHINE_DIAGRAMS) {
  const text = toMermaid(machine);
  writeFileSync(join(outDir, `${name}.mmd`), text);
  console.log(`wrote ${join(outDir, `${name}.mmd`)}`);
  refreshEmbedded(resolve(embeddedIn), text);
}
