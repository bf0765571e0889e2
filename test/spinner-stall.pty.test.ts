/**
 * A plain command stuck behind a spinner: its glyph turns for ever and nothing else moves. Before,
 * every turn of the glyph was progress to a `command` session (no profile named its busy line), so a
 * program hung on a lock, a dead registry or a login it waits for stayed `healthy` as long as it spun.
 * A line led by a spinner glyph is a busy line now: the glyph's turns are no progress, its clock
 * ticking is a busy turn (`busyStallMs`), and its other words changing are work.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { type Conductor, createConductor } from "../src/conductor.js";

const FIXTURE = fileURLToPath(new URL("./fixtures/spinner.mjs", import.meta.url));
const open: Conductor[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.shutdown("test_end")));
});

/** Where a spinner's session goes from healthy: a stall, or the fixture's exit after 400 frames (~32 s). */
async function fromHealthy(env: Record<string, string>): Promise<{ next: string; state: unknown }> {
  const c = createConductor({
    logsDir: mkdtempSync(join(tmpdir(), "spinner-")),
    handleSignals: false,
    enableMesh: false,
    graceMs: 1_000,
    probeOpts: { stallMs: 2_000, inputQuietMs: 600_000, busyStallMs: 4_000 },
  });
  open.push(c);
  const next = new Promise<string>((resolve) =>
    c.on("stateChange", (e: { from: string; to: string; reason: string }) => {
      if (e.from === "healthy") resolve(`${e.to} ${e.reason}`);
    }),
  );
  c.spawnSession({ id: "s", agent: "command", command: [process.execPath, FIXTURE], env: { FRAMES: "400", ...env } });
  // No time asserted: the stall comes once the spinner alone moved for stallMs, however slow the machine.
  return { next: await next, state: c.getSnapshot()[0] };
}

describe("a command behind a spinner", () => {
  it("a spinner that only turns is no progress: the session stalls (L1_stall)", async () => {
    const { next, state } = await fromHealthy({});
    expect(next).toBe("stalled L1_stall");
    expect(state).toMatchObject({ state: "stalled" });
  }, 90_000);

  it("a spinner whose clock ticks is a busy turn: it stalls after busyStallMs (L1_busy_stall)", async () => {
    const { next } = await fromHealthy({ CLOCK: "1" });
    expect(next).toBe("stalled L1_busy_stall");
  }, 90_000);

  it("a spinner whose words move (a growing count) is work: healthy until the program ends", async () => {
    const { next, state } = await fromHealthy({ COUNT: "1", FRAMES: "60" });
    expect(next).toBe("completed exit_0");
    expect(state).toMatchObject({ state: "completed" });
  }, 90_000);
});
