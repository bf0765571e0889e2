/**
 * What a control client reads when a request fails: the facade's reason in the request's terms. A
 * `conductor restart a` said `restartSession("a"): a restart of this session is already under way`
 * (a CLI review): its user never called that function.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, expect, it } from "vitest";
import { type Conductor, createConductor } from "../src/conductor.js";
import { createControlHandler } from "../src/control/handler.js";

const open: Conductor[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.shutdown("test_end")));
});

it("defect: a refused restart says why without the library call it began with", async () => {
  const logsDir = mkdtempSync(join(tmpdir(), "control-messages-"));
  const c = createConductor({ logsDir, handleSignals: false, enableMesh: false, graceMs: 1_000 });
  open.push(c);
  const up = new Promise<void>((resolve) => c.on("stateChange", (e) => e.to === "healthy" && resolve()));
  c.spawnSession({ id: "a", agent: "command", command: ["/bin/sh", "-c", "echo up; exec sleep 30"] });
  await up;
  const handler = createControlHandler(c, { name: "t", logsDir, version: "0" });
  const peer = { push: () => undefined, follows: new Map() };
  // The second arrives while the first is under way.
  const [first, second] = await Promise.all([
    handler.handle({ id: 1, op: "restart", session: "a" }, peer),
    handler.handle({ id: 2, op: "restart", session: "a" }, peer),
  ]);
  expect(first).toMatchObject({ ok: true });
  expect(second).toEqual({
    id: 2,
    ok: false,
    error: { code: "failed", message: "a restart of this session is already under way" },
  });
});
