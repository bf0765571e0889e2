/**
 * The busy stall on a real pty with a real conductor (and, at the end, a plain command behind a
 * spinner): test/fixtures/busy-clock.mjs draws a hung turn as gemini 0.61 does (whole frames ~20
 * times a second, only the spinner and the clock moving, a hint kept right-aligned by padding). Its
 * clock runs fast: the padding shrinks by one every 0.5–2.5 s (each time the clock grows a digit), as
 * it did every ~50 s live, where it kept the session `healthy` for 8 minutes; a busy stall of 4 s
 * never came before the fixture's exit without the blanks collapsed.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { type Conductor, createConductor } from "../src/conductor.js";

const FIXTURE = fileURLToPath(new URL("./fixtures/busy-clock.mjs", import.meta.url));
const SPINNER = fileURLToPath(new URL("./fixtures/spinner.mjs", import.meta.url));
const open: Conductor[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.shutdown("test_end")));
});

/**
 * Where a session of a fixture goes from healthy: a stall, or the fixture's exit after its frames.
 * By default busy-clock.mjs judged as gemini, the plain stall far away (only the busy stall can end
 * this `healthy`); `spinner` runs spinner.mjs as a plain command with a plain stall of 2 s.
 */
async function fromHealthy(env: Record<string, string>, spinner = false): Promise<{ next: string; state: unknown }> {
  const c = createConductor({
    logsDir: mkdtempSync(join(tmpdir(), "busy-clock-")),
    handleSignals: false,
    enableMesh: false,
    graceMs: 1_000,
    probeOpts: { stallMs: spinner ? 2_000 : 600_000, inputQuietMs: 600_000, busyStallMs: 4_000 },
  });
  open.push(c);
  // Where the session goes from healthy: the stall, or the fixture's exit after 600 frames (~30 s).
  const next = new Promise<string>((resolve) =>
    c.on("stateChange", (e: { from: string; to: string; reason: string }) => {
      if (e.from === "healthy") resolve(`${e.to} ${e.reason}`);
    }),
  );
  c.spawnSession({
    id: "g",
    agent: "command",
    ...(spinner ? {} : { judgeAs: "gemini" }),
    command: [process.execPath, spinner ? SPINNER : FIXTURE],
    env: { FRAMES: spinner ? "400" : "600", ...env },
  });
  // No time asserted: the stall comes once 4 s of ticks were seen, however slow the machine.
  return { next: await next, state: c.getSnapshot()[0] };
}

describe("the busy stall on a real pty", () => {
  it("gemini's hung turn, its clock crossing a digit, stalls as a busy turn (L1_busy_stall)", async () => {
    const { next, state } = await fromHealthy({});
    expect(next).toBe("stalled L1_busy_stall");
    expect(state).toMatchObject({ state: "stalled", restarts: 0 });
  }, 90_000);

  it("each frame in two writes 30 ms apart: a half-drawn frame read between them is no work", async () => {
    // Live under load (gemini/tui-hang, 2026-12-04): readings taken between the parts of one redraw
    // changed the screen's content now and then, and the hung turn stayed `healthy` for 8 minutes.
    const { next, state } = await fromHealthy({ SPLIT_MS: "30" });
    expect(next).toBe("stalled L1_busy_stall");
    expect(state).toMatchObject({ state: "stalled", restarts: 0 });
  }, 90_000);
});

/*
 * A plain command stuck behind a spinner (test/fixtures/spinner.mjs): its glyph turns for ever and
 * nothing else moves. Before, each turn of the glyph was progress to a `command` session (no profile
 * named its busy line), so a program hung on a lock, a dead registry or a login it waits for stayed
 * `healthy` as long as it spun. A line led by a spinner's glyph is a busy line now.
 */
describe("a command behind a spinner", () => {
  it("a spinner that only turns is no progress: the session stalls (L1_stall)", async () => {
    const { next, state } = await fromHealthy({}, true);
    expect(next).toBe("stalled L1_stall");
    expect(state).toMatchObject({ state: "stalled" });
  }, 90_000);

  it("a spinner whose clock ticks is a busy turn: it stalls after busyStallMs (L1_busy_stall)", async () => {
    const { next } = await fromHealthy({ CLOCK: "1" }, true);
    expect(next).toBe("stalled L1_busy_stall");
  }, 90_000);

  it("a spinner whose words move (a growing count) is work: healthy until the program ends", async () => {
    const { next, state } = await fromHealthy({ COUNT: "1", FRAMES: "60" }, true);
    expect(next).toBe("completed exit_0");
    expect(state).toMatchObject({ state: "completed" });
  }, 90_000);
});
