/** The machine's possible moves are exactly the seed's table plus the documented fixes. */
import { describe, expect, it } from "vitest";
import { sessionMachine } from "../machines/session.machine.js";
import { allowedTransitions, SEED_TRANSITIONS } from "../machines/transition-table.js";
import { MACHINE_DIAGRAMS } from "../src/machine-diagrams.js";
import { listMoves, toMermaid } from "../src/machine-graph.js";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

describe("transition table", () => {
  it("the moves the statechart can make are exactly the allowed table", () => {
    const actual = new Set(listMoves(sessionMachine).map((m) => `${m.from}->${m.to}`));
    const expected = new Set<string>();
    for (const [from, tos] of allowedTransitions()) for (const to of tos) expected.add(`${from}->${to}`);
    expect([...actual].sort()).toEqual([...expected].sort());
  });

  it("keeps every move of the seed's table", () => {
    const actual = new Set(listMoves(sessionMachine).map((m) => `${m.from}->${m.to}`));
    for (const [from, tos] of Object.entries(SEED_TRANSITIONS))
      for (const to of tos) expect(actual).toContain(`${from}->${to}`);
  });

  it("every state announces itself on entry, so no move can go unlogged", () => {
    for (const node of Object.values(sessionMachine.root.states)) {
      const types = node.entry.map((a) => (typeof a === "object" && a && "type" in a ? a.type : String(a)));
      expect(types, `state ${node.key}`).toContain("announce");
    }
  });

  it("no code path can log an invalid transition: the runtime sources never mention it", () => {
    const root = fileURLToPath(new URL("..", import.meta.url));
    for (const f of ["machines/session.machine.ts", "machines/conductor.machine.ts"]) {
      expect(readFileSync(root + f, "utf8")).not.toMatch(/invalid_transition/);
    }
  });

  it("the diagrams in docs are generated from the machines and up to date, each where it is embedded", () => {
    const root = fileURLToPath(new URL("..", import.meta.url));
    expect(MACHINE_DIAGRAMS.map((d) => d.name)).toEqual(["session", "conductor", "child-run", "tmux-channel"]);
    for (const { name, machine, embeddedIn } of MACHINE_DIAGRAMS) {
      const text = toMermaid(machine);
      const committed = readFileSync(`${root}docs/diagrams/${name}.mmd`, "utf8");
      expect(committed, `docs/diagrams/${name}.mmd is stale: run npm run diagrams`).toBe(text);
      expect(readFileSync(`${root}${embeddedIn}`, "utf8"), `${embeddedIn}'s ${name} diagram is stale`).toContain(
        `\`\`\`mermaid\n${text}\`\`\``,
      );
    }
  });
});
