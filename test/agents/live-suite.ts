/**
 * What every live test file that drives the real CLIs itself shares (answers, input, mcp, results,
 * resume): the CLIs and the fake API before its tests, a conductor per run in the run's folder, and
 * at the end of a test or of the file every conductor shut down and whatever a run left ended.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";
import type { ConductorOptions, SpawnConfig } from "../../src/conductor-options.js";
import { type Conductor, createConductor } from "../../src/conductor.js";
import type { Cli } from "./agent-env.js";
import { PROMPT } from "./cases.js";
import type { FakeApi } from "./fake-api/server.js";
import { killAll, type ProcInfo, processesWithMarker } from "./proc-scan.js";
import { startLiveAgents, type TuiRun } from "./tui-run.js";

export function liveSuite() {
  let api: FakeApi | undefined;
  let bins: Record<string, { bin: string }> = {};
  const open = new Set<Conductor>();
  beforeAll(async () => {
    ({ api, bins } = await startLiveAgents());
  }, 600_000);
  afterAll(async () => {
    await Promise.all([...open].map((c) => c.shutdown("test_end")));
    await api?.close();
  });
  return {
    api: (): FakeApi => api as FakeApi,
    bin: (cli: Cli): string => bins[cli]!.bin,
    /** A conductor logging into `<root>/logs`, shut down with the file if its test does not. */
    conductor(root: string, extra: Partial<ConductorOptions> = {}): Conductor {
      const c = createConductor({
        logsDir: join(root, "logs"),
        graceMs: 3_000,
        handleSignals: false,
        enableMesh: false,
        ...extra,
      });
      open.add(c);
      return c;
    },
    /** A preset session of the real CLI on the suite's prompt, in the run's (trusted) work folder. */
    preset(cli: Cli, id: string, run: Pick<TuiRun, "dirs" | "env">, extra: Partial<SpawnConfig> = {}): SpawnConfig {
      return {
        id,
        agent: cli,
        prompt: PROMPT,
        bin: bins[cli]!.bin,
        workdir: run.dirs.cwd,
        env: run.env,
        trustWorkdir: true,
        ...extra,
      } as SpawnConfig;
    },
    /**
     * The real CLI's TUI as a `command` session judged as that CLI, in the run's work folder; returns
     * what it has printed so far (its output log).
     */
    spawnTui(c: Conductor, id: string, cli: Cli, args: string[], run: Pick<TuiRun, "dirs" | "env">): () => string {
      const { dirs, env } = run;
      c.spawnSession({
        id,
        agent: "command",
        judgeAs: cli,
        command: [bins[cli]!.bin, ...args],
        workdir: dirs.cwd,
        env,
      });
      const outPath = c.getSnapshot().find((s) => s.id === id)?.outPath as string;
      return () => (existsSync(outPath) ? readFileSync(outPath, "utf8") : "");
    },
    /** Shuts the conductor down, then ends what the run left; returns those leftovers. */
    async close(c: Conductor, marker: string): Promise<ProcInfo[]> {
      await c.shutdown("test_end");
      open.delete(c);
      const left = processesWithMarker(marker);
      killAll(left);
      return left;
    },
  };
}

/** Resolves with the session's final state (`completed` or `dead`), from the next one it reaches. */
export function sessionEnd(c: Conductor, id: string): Promise<string> {
  return new Promise((resolve) =>
    c.on("stateChange", (e) => e.sessionId === id && (e.to === "completed" || e.to === "dead") && resolve(e.to)),
  );
}
