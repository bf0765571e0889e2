/**
 * The README's embedding example, run as written: its option names, event payloads and calls are the
 * library's (a documented example that no longer runs is a defect nobody sees). The agents' binaries
 * are stand-ins on PATH that print a line and exit 0; `npx` too, so nothing is fetched.
 */
import { execFile } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("..", import.meta.url));

/** The first ```ts block after a heading, its import of the package pointed at the build. */
function exampleAfter(heading: string): string {
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const from = readme.indexOf("```ts\n", readme.indexOf(heading)) + "```ts\n".length;
  const code = readme.slice(from, readme.indexOf("```", from));
  const dist = pathToFileURL(join(root, "dist/src/index.js")).href;
  return code.replace(/from "statechart-conductor"/, `from ${JSON.stringify(dist)}`);
}

describe("the README's embedding example", () => {
  it("runs as written: every session through to completed, allCompleted shuts it down, the process exits 0", async () => {
    const dir = mkdtempSync(join(tmpdir(), "readme-example-"));
    const bin = join(dir, "bin");
    mkdirSync(bin);
    mkdirSync(join(dir, "repo")); // the example's `workdir: "./repo"`
    for (const name of ["claude", "codex", "npx"]) {
      writeFileSync(join(bin, name), `#!/bin/sh\necho "${name} stand-in done"\n`);
      chmodSync(join(bin, name), 0o755);
    }
    const code = exampleAfter("## Embedding");
    expect(code).toContain("createConductor(");
    writeFileSync(join(dir, "example.mjs"), code);
    // As root, claude's bypass needs IS_SANDBOX=1 (docs/agents.md); the stand-in does not care.
    const env = { ...process.env, PATH: `${bin}:${process.env.PATH}`, IS_SANDBOX: "1" };
    const { stdout } = await promisify(execFile)(process.execPath, ["example.mjs"], { cwd: dir, env, timeout: 60_000 });
    for (const id of ["review", "tests", "lint"]) expect(stdout).toContain(`${id} healthy → completed exit_0`);
    expect(stdout).toMatch(/'review'.*'claude'/); // the console.table of getSnapshot()
    expect(readFileSync(join(dir, "logs", "conductor-events.jsonl"), "utf8")).toContain('"reason":"done"');
  });
});
