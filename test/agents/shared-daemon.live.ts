/**
 * Two codex TUIs on one CODEX_HOME share one `codex app-server` daemon (started by the first). It
 * carried the first run's env cookie and sat in its cgroup, so ending that session ended the
 * daemon, and the other session showed "Reconnecting to server…", never answered again and stayed
 * `healthy` (a review, remote and local). The daemon is a shared helper now (actors/shared-helpers.ts):
 * the kill of one session leaves it to the other, which answers its next prompt; the conductor's
 * end ends it. Part of `npm run test:agents` (loopback only, the fake API).
 */
import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { processesWithMarker } from "./proc-scan.js";
import { liveSuite } from "./live-suite.js";
import { tuiRun, until } from "./tui-run.js";

const daemons = (marker: string) =>
  processesWithMarker(marker).filter((p) => {
    try {
      return readFileSync(`/proc/${p.pid}/cmdline`, "latin1").includes("app-server");
    } catch {
      return false;
    }
  });

describe("codex sessions sharing one home", () => {
  const live = liveSuite();

  test("the kill of one leaves the daemon the other uses: it answers on; the conductor's end ends the daemon", async () => {
    const { root, dirs, env, marker } = tuiRun("codex", "shared", live.api());
    const c = live.conductor(root);
    const composers = new Map<string, number>();
    c.on("inputWait", (e) => {
      if (e.kind === "composer") composers.set(e.sessionId, (composers.get(e.sessionId) ?? 0) + 1);
    });
    const ready = (id: string, n = 1) => ((composers.get(id) ?? 0) >= n ? true : undefined);
    const screens = new Map<string, () => string>();
    const answers = (id: string) => (screens.get(id)?.() ?? "").split("FAKE-API-OK").length - 1;
    let left: ReturnType<typeof processesWithMarker> = [];
    try {
      for (const id of ["first", "second"]) {
        screens.set(id, live.spawnTui(c, id, "codex", [], { dirs, env }));
        await until(`${id}'s composer`, () => ready(id), 120_000);
        expect(c.sendInput(id, "Reply with one short sentence.")).toBe(true);
        await until(`${id}'s answer`, () => (answers(id) > 0 ? true : undefined), 90_000);
      }
      const [daemon] = daemons(marker);
      expect(daemon).toBeDefined(); // codex 0.171's TUI runs one; without it this test proves nothing
      await c.killSession("first");
      expect(daemons(marker).map((p) => p.pid)).toContain(daemon?.pid);
      const before = answers("second");
      await until("second's composer after its answer", () => ready("second", 2), 60_000);
      expect(c.sendInput("second", "Reply again with one short sentence.")).toBe(true);
      await until("second's answer after the kill", () => (answers("second") > before ? true : undefined), 90_000);
      expect(c.getSnapshot().find((s) => s.id === "second")?.state).not.toMatch(/failed|dead|restarting/);
    } finally {
      left = await live.close(c, marker);
    }
    expect(left).toEqual([]);
  }, 600_000);
});
