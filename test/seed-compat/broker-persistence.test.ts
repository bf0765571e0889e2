/**
 * The seed's broker persisted cool-downs and open circuits to a state file, so a restarted process
 * did not lease an account that was still cooling. `createAccountBroker({ stateFile })` does the same
 * through the conductor's own state-file protocol. Each "process" below is a fresh broker that shares
 * nothing with the first but the file on disk.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ConductorError, createAccountBroker } from "../../src/index.js";

const NOW = 1_700_000_000_000;
const two = { providers: { codex: ["a", "b"].map((id) => ({ id, mode: "profile", profile: id })) } };

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const stateFileIn = () => {
  const dir = mkdtempSync(join(tmpdir(), "seed-broker-state-"));
  dirs.push(dir);
  return join(dir, "broker-state.json");
};

describe("seed broker: cool-downs and open circuits persist to a state file", () => {
  it("a cool-down set in one process is honoured by the next until it ends", async () => {
    const stateFile = stateFileIn();
    let t = NOW;
    const first = createAccountBroker(two, { now: () => t, stateFile });
    first.markRateLimited("a", 60_000);
    await first.settle();
    first.stop();
    expect(JSON.parse(readFileSync(stateFile, "utf8")).cooldowns).toEqual({ "codex/a": { until: NOW + 60_000 } });

    const second = createAccountBroker(two, { now: () => t, stateFile });
    // Only b is free: a is still cooling, as the file says.
    expect(second.lease({ provider: "codex" })?.id).toBe("b");
    expect(second.lease({ provider: "codex" })).toBeNull();
    second.stop();

    t += 60_001;
    const third = createAccountBroker(two, { now: () => t, stateFile });
    expect(third.lease({ provider: "codex" })?.id).toBe("a");
    third.stop();
  });

  it("an open circuit survives a restart; without stateFile nothing is remembered", async () => {
    const stateFile = stateFileIn();
    const one = {
      providers: { codex: [{ id: "a", mode: "profile", profile: "a" }] },
      defaults: { circuit: { failures: 3, windowMs: 600_000 } },
    };
    const first = createAccountBroker(one, { now: () => NOW, stateFile });
    for (let i = 0; i < 3; i++) {
      expect(first.lease({ provider: "codex" })?.id).toBe("a");
      first.release("a", { ok: false, failureMode: "crash" });
    }
    expect(first.lease({ provider: "codex" })).toBeNull();
    await first.settle();
    first.stop();

    const second = createAccountBroker(one, { now: () => NOW, stateFile });
    expect(second.lease({ provider: "codex" })).toBeNull();
    expect(second.nextAvailableEta("codex")).toBeGreaterThan(NOW);
    second.stop();

    const forgetful = createAccountBroker(one, { now: () => NOW });
    expect(forgetful.stateFile).toBeNull();
    expect(forgetful.lease({ provider: "codex" })?.id).toBe("a");
    forgetful.stop();
  });

  it("a corrupt state file is a typed error at creation, naming the file", () => {
    const stateFile = stateFileIn();
    writeFileSync(stateFile, "{ not json");
    let caught: unknown;
    try {
      createAccountBroker(two, { stateFile });
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(ConductorError);
    expect((caught as ConductorError).code).toBe("BROKER_STORE");
    expect(String((caught as Error).message)).toContain(stateFile);
  });
});
