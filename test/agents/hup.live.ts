/**
 * codex's detached `app-server` under the conductor, when the supervising process's terminal closes:
 * a codex TUI runs under a conductor in its own process (test/agents/hup-supervisor.mjs), a prompt is
 * typed so a turn starts (codex starts `app-server --managed-daemon` and its `pid-update-loop` for
 * the turn, and after a SIGHUP of codex itself they stay alive with parent 1: tui-turn-hup), then the
 * supervisor gets SIGHUP. No process carrying the run's marker may be left once it has exited.
 * Part of `npm run test:agents` (loopback-only namespace, the real codex, the fake API).
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { installAgents } from "../../scripts/agents/install.mjs";
import { tuiRun, until } from "./tui-run.js";
import { type FakeApi, startFakeApi } from "./fake-api/server.js";
import { assertLoopbackOnly } from "./netns.js";
import { CACHE_DIR, REPO_ROOT } from "./paths.js";
import { killAll, processesWithMarker } from "./proc-scan.js";

const SUPERVISOR = fileURLToPath(new URL("./hup-supervisor.mjs", import.meta.url));

/** Resolves with the first line (parsed) the supervisor prints that `match` accepts; rejects after `ms`. */
function nextLine(child: ChildProcess, match: (m: Record<string, unknown>) => boolean, ms: number) {
  return new Promise<Record<string, unknown>>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    const timer = setTimeout(() => {
      rl.close();
      reject(new Error(`no matching line from the supervisor within ${ms} ms`));
    }, ms);
    rl.on("line", (line) => {
      const m = JSON.parse(line) as Record<string, unknown>;
      if (!match(m)) return;
      clearTimeout(timer);
      rl.close();
      resolve(m);
    });
  });
}

describe("codex app-server and a SIGHUP of the supervising process", () => {
  let api: FakeApi;
  let codex: string;
  beforeAll(async () => {
    assertLoopbackOnly();
    for (const key of Object.keys(process.env)) {
      if (/^(ANTHROPIC|OPENAI|GEMINI|GOOGLE|CODEX|CLAUDE)/.test(key) || key === "VITEST") delete process.env[key];
    }
    codex = (installAgents(CACHE_DIR, () => {}) as Record<string, { bin: string }>).codex!.bin;
    // The supervisor runs the built package: build it from these sources.
    execFileSync("npx", ["tsc", "-p", "tsconfig.build.json"], { cwd: REPO_ROOT, stdio: "ignore" });
    api = await startFakeApi();
  }, 600_000); // the build takes minutes on a loaded machine
  afterAll(async () => {
    await api?.close();
  });

  test("after a turn, SIGHUP of the supervisor: the supervisor exits 129 and no process of the run is left", async () => {
    const { root, dirs, env, marker } = tuiRun("codex", "hup", api);
    const config = { id: "codex-hup", agent: "command", judgeAs: "codex", command: [codex], workdir: dirs.cwd, env };
    const supervisor = spawn(process.execPath, [SUPERVISOR, join(root, "logs"), JSON.stringify(config)], {
      stdio: ["pipe", "pipe", "inherit"],
    });
    const exited = new Promise<number | null>((r) => supervisor.on("exit", (code) => r(code)));
    try {
      await nextLine(supervisor, (m) => m.ev === "inputWait" && m.kind === "composer", 120_000);
      supervisor.stdin!.write(`${JSON.stringify({ type: "text", text: "Reply with one short sentence." })}\n`);
      // The turn's daemon: it exists only once a turn started.
      const daemon = await until(
        "codex app-server to start",
        () => processesWithMarker(marker).find((p) => /app-server/.test(p.args)),
        120_000,
      );
      console.log(`app-server up: pid ${daemon.pid} (ppid ${daemon.ppid})`);
      supervisor.kill("SIGHUP");
      expect(await exited).toBe(129);
      const left = processesWithMarker(marker);
      console.log(`left after the supervisor exited: ${left.length}`, left);
      expect(left.map((p) => `${p.pid} ${p.args.slice(0, 80)}`)).toEqual([]);
    } finally {
      if (supervisor.exitCode === null) supervisor.kill("SIGKILL");
      killAll(processesWithMarker(marker));
    }
  }, 400_000);
});
