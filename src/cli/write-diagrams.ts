/** Writes docs/diagrams/*.mmd from the machines themselves (`npm run diagrams`). */
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { conductorMachine } from "../../machines/conductor.machine.js";
import { sessionMachine } from "../../machines/session.machine.js";
import { toMermaid } from "../machine-graph.js";

const outDir = resolve(process.argv[2] ?? "docs/diagrams");
mkdirSync(outDir, { recursive: true });
for (const [name, machine] of [["session", sessionMachine], ["conductor", conductorMachine]] as const) {
  const file = join(outDir, `${name}.mmd`);
  writeFileSync(file, toMermaid(machine));
  console.log(`wrote ${file}`);
}
