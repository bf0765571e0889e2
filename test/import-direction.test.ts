/**
 * The house rule as a test: `src/` → `actors/` → `machines/`, never the other way; machines/ has no
 * Node imports; shipped code imports nothing from test/; and no module imports itself through others.
 * Imports are read from the sources (static `import`/`export … from` and dynamic `import("…")`).
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "..");
const LAYERS = ["machines", "actors", "src"] as const;
type Layer = (typeof LAYERS)[number];

/** Cycles known on main, owned elsewhere: listed so they cannot grow, removed when fixed (a stale entry fails). */
const KNOWN_CYCLES: string[] = [];

function sources(): string[] {
  return LAYERS.flatMap((dir) =>
    readdirSync(join(ROOT, dir), { recursive: true, encoding: "utf8" })
      .filter((f) => f.endsWith(".ts"))
      .map((f) => normalize(join(dir, f))),
  );
}

/**
 * Module specifiers a file imports at run time: static, re-exports and dynamic. `import type` is left
 * out: TypeScript erases it, so a type-only back edge cannot cause a load-order cycle.
 */
function specifiers(text: string): string[] {
  text = text.replace(/(?:^|\n)\s*(?:import|export)\s+type\b[^;]*?\bfrom\s*"[^"]+"/g, "");
  const pattern =
    /(?:^|\n)\s*(?:import|export)\b[^;]*?\bfrom\s*"([^"]+)"|\bimport\(\s*"([^"]+)"\s*\)|(?:^|\n)\s*import\s*"([^"]+)"/g;
  return [...text.matchAll(pattern)].map((m) => (m[1] ?? m[2] ?? m[3])!);
}

const graph = new Map<string, { local: string[]; external: string[] }>();
for (const file of sources()) {
  const specs = specifiers(readFileSync(join(ROOT, file), "utf8"));
  const local = specs
    .filter((s) => s.startsWith("."))
    .map((s) => normalize(join(dirname(file), s)).replace(/\.js$/, ".ts"));
  graph.set(file, { local, external: specs.filter((s) => !s.startsWith(".")) });
}
const layerOf = (file: string): Layer | "other" =>
  ((LAYERS as readonly string[]).find((l) => file.startsWith(`${l}/`)) as Layer) ?? "other";

describe("import direction", () => {
  it("reads the imports it checks", () => {
    expect(graph.get(normalize("src/conductor.ts"))?.local).toContain(normalize("machines/conductor.machine.ts"));
    // ssh2 itself is loaded on first use (actors/ssh2-client.ts, a require): its import here is a type only.
    expect(graph.get(normalize("actors/ssh-host.ts"))?.external).toContain("xstate");
  });

  it("machines/ imports only machines/ and xstate: no Node, no I/O", () => {
    const bad: string[] = [];
    for (const [file, { local, external }] of graph) {
      if (layerOf(file) !== "machines") continue;
      for (const dep of local) if (layerOf(dep) !== "machines") bad.push(`${file} -> ${dep}`);
      for (const dep of external) if (dep !== "xstate") bad.push(`${file} -> ${dep}`);
    }
    expect(bad).toEqual([]);
  });

  it("actors/ imports only actors/, machines/ and libraries", () => {
    const bad = [...graph]
      .filter(([file]) => layerOf(file) === "actors")
      .flatMap(([file, { local }]) =>
        local.filter((d) => layerOf(d) === "src" || layerOf(d) === "other").map((d) => `${file} -> ${d}`),
      );
    expect(bad).toEqual([]);
  });

  it("shipped code imports nothing from test/", () => {
    const bad = [...graph].flatMap(([file, { local }]) =>
      local.filter((d) => relative(ROOT, join(ROOT, d)).startsWith("test")).map((d) => `${file} -> ${d}`),
    );
    expect(bad).toEqual([]);
  });

  it("no import cycles (beyond the known ones, which may only disappear)", () => {
    const cycles = new Set<string>();
    const state = new Map<string, "open" | "done">();
    const stack: string[] = [];
    const visit = (file: string) => {
      state.set(file, "open");
      stack.push(file);
      for (const dep of graph.get(file)?.local ?? []) {
        if (state.get(dep) === "open") cycles.add([...stack.slice(stack.indexOf(dep)), dep].join(" -> "));
        else if (!state.has(dep)) visit(dep);
      }
      stack.pop();
      state.set(file, "done");
    };
    for (const file of [...graph.keys()].sort()) if (!state.has(file)) visit(file);
    expect([...cycles].filter((c) => !KNOWN_CYCLES.includes(c))).toEqual([]);
    expect(KNOWN_CYCLES.filter((c) => !cycles.has(c))).toEqual([]);
  });
});
