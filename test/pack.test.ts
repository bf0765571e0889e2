/**
 * The package is real: `npm pack`, installed into an empty folder, imports with types and runs
 * `npx conductor run`. Slow (installs dependencies, compiles node-pty), so it runs once.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { expect, it } from "vitest";

const exec = promisify(execFile);
const root = fileURLToPath(new URL("..", import.meta.url));

it("npm pack → install in an empty folder → typed import and npx conductor run", async () => {
  const dir = mkdtempSync(join(tmpdir(), "conductor-pack-"));
  // `npm test` has just built dist/: `prepare` would rebuild it while other test files import it.
  const { stdout: packOut } = await exec("npm", ["pack", "--ignore-scripts", "--pack-destination", dir, "--json"], {
    cwd: root,
    maxBuffer: 1 << 24,
  });
  const tarball = join(dir, (JSON.parse(packOut) as Array<{ filename: string }>)[0]!.filename);
  const app = join(dir, "app");
  await exec("mkdir", ["-p", app]);
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }));
  await exec("npm", ["install", "--no-audit", "--no-fund", tarball], { cwd: app, timeout: 240_000 });

  // Types: a consumer's TypeScript file compiles against the installed package's .d.ts files.
  writeFileSync(
    join(app, "use.ts"),
    [
      'import { limitYoungGeneration } from "statechart-conductor/young-generation";',
      'import { conductorMachine, createConductor, sessionMachine, STATES, type SessionSnapshot } from "statechart-conductor";',
      'import { createActor } from "xstate";',
      "const heap: string = limitYoungGeneration({ semiSpaceMiB: 4 }).state();",
      // Its input has defaults: leaving it out type-checks (docs/xstate.md).
      "const parent = createActor(conductorMachine);",
      "const c = createConductor({ logsDir: './logs', handleSignals: false });",
      "const snaps: SessionSnapshot[] = c.getSnapshot();",
      "const s: string = STATES.HEALTHY;",
      "void sessionMachine; void snaps; void s; void heap; void parent; void c.shutdown();",
    ].join("\n"),
  );
  const tsc = join(root, "node_modules/.bin/tsc");
  await exec(
    tsc,
    [
      "--noEmit",
      "--strict",
      "--module",
      "nodenext",
      "--moduleResolution",
      "nodenext",
      "--target",
      "es2022",
      "--skipLibCheck",
      "--typeRoots",
      join(root, "node_modules/@types"),
      "--types",
      "node",
      "use.ts",
    ],
    { cwd: app },
  );

  const { stdout: imported } = await exec(
    process.execPath,
    [
      "--input-type=module",
      "-e",
      "import * as m from 'statechart-conductor'; console.log(typeof m.createConductor, typeof m.conductorMachine, m.STATES.DEAD)",
    ],
    { cwd: app },
  );
  expect(imported.trim()).toBe("function object dead");
  // Its own entry point loads nothing else, so a main module can call it before the heap grows.
  const { stdout: limited } = await exec(
    process.execPath,
    [
      "--input-type=module",
      "-e",
      "import { limitYoungGeneration } from 'statechart-conductor/young-generation'; console.log(limitYoungGeneration().state())",
    ],
    { cwd: app },
  );
  expect(limited.trim()).toBe("watching");
  // The scripted agent createAgentHub drives ships too: run from the package, it follows a plan.
  const { stdout: scripted } = await exec(
    process.execPath,
    [
      "--input-type=module",
      "-e",
      "import { SCRIPTED_AGENT } from 'statechart-conductor/testing'; import { execFileSync } from 'node:child_process'; process.stdout.write(execFileSync(process.execPath, [SCRIPTED_AGENT], { env: { ...process.env, SCRIPTED_AGENT_PLAN: JSON.stringify([{ print: 'from the package' }, { exit: 0 }]) } }))",
    ],
    { cwd: app },
  );
  expect(scripted).toContain("from the package");

  const { stdout } = await exec("npx", ["conductor", "run", "--logs-dir", "logs"], { cwd: app, timeout: 90_000 });
  expect(stdout).toContain("all 6 sessions ended as expected");
}, 300_000);
