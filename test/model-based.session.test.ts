/**
 * Model-based tests of the session statechart against the real runtime: paths generated from
 * the machine with xstate/graph, each run on the real session actor with the real pty actor and
 * process reaper, driving a scripted agent (src/testing/scripted-agent.mjs) step by step; the
 * account broker and credential home are stand-ins that answer as the step says.
 * Each step must take exactly the transitions the machine predicts (read from XState's
 * inspection API) and reach the same abstract state. Coverage is counted from the machine.
 *
 * Time: the chart's timers run on a SimulatedClock (src/testing/timer-plan.ts). The clock moves
 * only at a step the model says a timer makes, and only until that timer has fired; every other
 * step waits on a real event (output, exit, tree gone). Nothing here waits on or races the wall
 * clock, so the paths hold on a loaded machine; wall time only bounds how long a real event may take.
 */
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AnyActorRef, createActor, type EventObject, fromCallback, SimulatedClock, setup } from "xstate";
import { createProcessReaper } from "../actors/process-reaper.js";
import { createPtyProcessLogic } from "../actors/pty-process.js";
import { sessionMachine, type SessionInput } from "../machines/session.machine.js";
import { coverageReport, machineTransitions, recordTransitions } from "../src/testing/coverage.js";
import { createAgentHub, SCRIPTED_AGENT } from "../src/testing/agent-hub.js";
import { followActor, runPool } from "../src/testing/runner.js";
import {
  busyModelPolicy,
  serializeSessionState,
  sessionPaths,
  sessionTestModel,
  type SessionModelPath,
} from "../src/testing/session-model.js";
import { arrivals, isTimerStep, MODEL_RUN_POLICY, planTimers } from "../src/testing/timer-plan.js";

const AGENT = SCRIPTED_AGENT;
const QUESTION = "Continue? (y/n)";
const POLICY = MODEL_RUN_POLICY;
// A bound on real events only (a node start, an exit, a tree's death), sized for a loaded 2-core machine.
const STEP_TIMEOUT_MS = 60_000;
const CONCURRENCY = 6; // paths wait only on real processes now
// A duplicate OUTPUT (a write split in two reads) stays in healthy or input_wait: harmless.
const TYPE_AHEAD_TRANSITIONS = ["(root): INPUT [keepsTypeAhead] (stays)", "(root): KEYS [keepsTypeAhead] (stays)"];
/** A run's actor that throws: a defect of that actor, which the real one never shows on purpose. */
const ACTOR_ERROR_TRANSITIONS = ["(root): xstate.error.actor.* → failed"];
/**
 * A host outage: only a remote run ends `host_unreachable`, and only the host watch reports a link.
 * Driven in test/session.host-wait.test.ts (SimulatedClock) and test/remote-outage.test.ts (real sshd).
 */
const HOST_WAIT_TRANSITIONS = [
  "restarting: HOST.STATUS [hostAnswers] (stays)",
  "restarting: HOST.STATUS (stays)",
  "restarting: after hostWait [waitingForHost] → failed",
];
/**
 * Text typed as an answer whose Enter comes later (a named CLI's profile pauses before it; the model's
 * agent is a command), and a menu answered (a second approval in its place: only a named CLI asks
 * with menus). Driven in test/session.machine.test.ts ("two approvals in a row").
 */
const MENU_ANSWER_TRANSITIONS = [
  "input_wait: INPUT.SUBMIT [answerUntaken] (stays)",
  "input_wait: INPUT.SUBMIT [textSubmitted] (stays)",
  "input_wait.asked: CHILD.OUTPUT [menuReplaced] → healthy",
];
/** Input a remote link may have lost (a reset under the write): a local pty never reports it (test/remote-link-status.test.ts). */
const INPUT_UNSURE_TRANSITIONS = ["(root): CHILD.INPUT_UNSURE (stays)"];
/**
 * A malformed INPUT or KEYS an embedder sends the chart itself (the facade refuses one before): it is
 * refused wherever it comes, nothing written. Driven in test/bracketed-paste.test.ts (SimulatedClock).
 */
const MALFORMED_INPUT_TRANSITIONS = ["(root)", "starting", "healthy", "stalled", "input_wait"].flatMap((s) => [
  `${s}: INPUT [inputMalformed] (stays)`,
  `${s}: KEYS [inputMalformed] (stays)`,
]);
const UNREACHED = [
  ...INPUT_UNSURE_TRANSITIONS,
  ...MALFORMED_INPUT_TRANSITIONS,
  ...TYPE_AHEAD_TRANSITIONS,
  ...ACTOR_ERROR_TRANSITIONS,
  ...MENU_ANSWER_TRANSITIONS,
  ...HOST_WAIT_TRANSITIONS,
];
const NOISE = new Set([
  "healthy.working: CHILD.OUTPUT [fromCurrentChild] (stays)",
  "healthy.working: CHILD.OUTPUT [screenUnchanged] (stays)",
  "healthy.ticking.steady: CHILD.OUTPUT [screenUnchanged] (stays)",
  "healthy.ticking.changed: CHILD.OUTPUT [screenUnchanged] (stays)",
  "stalled: CHILD.OUTPUT [screenUnchanged] (stays)",
  "input_wait: CHILD.OUTPUT [fromCurrentChild] (stays)",
]);

const dir = mkdtempSync(join(tmpdir(), "mbt-session-"));
const hub = createAgentHub(dir, { timeoutMs: STEP_TIMEOUT_MS });
const rec = recordTransitions();
const reaper = createProcessReaper();
const ptyProcess = createPtyProcessLogic({ reaper });

/** Stand-ins for the account broker and the credential home: they answer as each step says. */
function leaseDesk() {
  const requests: Array<{ replyTo: AnyActorRef }> = [];
  const creds = new Map<number, (e: EventObject) => void>();
  const got: string[] = [];
  return {
    got,
    broker: fromCallback<EventObject>(({ receive }) => {
      receive((e) => {
        got.push(e.type);
        if (e.type === "LEASE.REQUEST") requests.push(e as unknown as { replyTo: AnyActorRef });
      });
    }),
    credentialHome: fromCallback<EventObject, { generation: number }>(
      ({ input, sendBack }) => void creds.set(input.generation, sendBack),
    ),
    lease: (e: EventObject) => requests.at(-1)!.replyTo.send(e),
    credentials: (generation: number, e: EventObject) => creds.get(generation)!(e),
  };
}

/** Runs one generated path on a real session; throws with the path and step when reality differs. */
async function runPath(path: SessionModelPath, n: number, guards: Record<string, () => boolean> = {}): Promise<number> {
  const id = `p${n}`;
  const wrapper = join(dir, `${id}.sh`);
  writeFileSync(wrapper, `#!/bin/sh\nexec "${process.execPath}" "${AGENT}"\n`, { mode: 0o755 });
  const has = (type: string) => path.steps.some((s) => s.event.type.startsWith(type));
  const desk = leaseDesk();
  const input: SessionInput = {
    id,
    agent: "command",
    spec: { argv: [wrapper], env: { SCRIPTED_AGENT_SOCKET: hub.path } },
    policy: {
      ...POLICY,
      // Armed only where the path needs them; when they fall due is the plan's (timer-plan.ts).
      windowMs: has("RESTART.WINDOW_EXPIRED") ? 1 : null,
      maxRunMs: has("RUN.DEADLINE") ? 1 : null,
      inputWaitTimeoutMs: has("xstate.after.inputWaitTimeout") ? 500_000 : null,
      stallNudgeMs: has("xstate.after.stallNudge") ? 60_000 : null,
      ...(path.busy ? busyModelPolicy(POLICY.stallMs) : {}),
    },
    ...(path.account ? { account: { provider: "codex" } } : {}),
  };
  let plan: ReturnType<typeof planTimers>;
  try {
    plan = planTimers(path, input);
  } catch (err) {
    (err as Error).message = `path ${n}: ${path.description}\n${(err as Error).message}`;
    throw err;
  }
  const session = sessionMachine.provide({
    actors: { ptyProcess, credentialHome: desk.credentialHome as never },
    guards,
    delays: plan.delays,
  });
  // The session and a broker in one actor system, as in the conductor (which owns the real broker).
  const harness = setup({ actors: { session, broker: desk.broker } }).createMachine({
    invoke: [
      { src: "broker", systemId: "broker" },
      { id, src: "session", input },
    ],
  });
  const clock = new SimulatedClock();
  const watch = arrivals(id);
  const system = createActor(harness, {
    clock,
    inspect: (e) => {
      rec.inspect(e);
      watch.inspect(e);
    },
  });
  const follow = followActor(rec, id, {
    noise: NOISE,
    serialize: serializeSessionState, // typed: followActor takes the snapshot type serialize names
    timeoutMs: STEP_TIMEOUT_MS,
  });
  const started = Date.now();
  // The run each step talks to, from the runtime itself: the model's abstraction leaves the run number
  // out, so a state reached by a restart the user asked for (not counted in `recent`) shares its node,
  // and its stored snapshot, with the first run's.
  const generation = () => (actor.getSnapshot() as { context: { generation: number } }).context.generation;
  system.start();
  const actor = system.getSnapshot().children[id] as AnyActorRef;
  try {
    for (let i = 1; i < path.steps.length; i++) {
      const e = path.steps[i]!.event;
      const g = generation();
      const agent = `${id}#${g}`;
      // A spawn error is made real by taking the execute bit off the agent before the spawn.
      chmodSync(wrapper, path.steps[i + 1]?.event.type === "CHILD.SPAWN_ERROR" ? 0o644 : 0o755);
      plan.at(i);
      // Timers (state delays, lease renewal, the restart window, the run deadline): only the clock fires them.
      if (isTimerStep(e.type)) watch.fire(clock, e.type, `step ${i} (${e.type})`);
      else if (["START", "KILL", "RESTART", "PROBE.L2", "PROBE.TELEMETRY", "PROBE.RETRY"].includes(e.type))
        actor.send(e);
      else if (e.type === "CHILD.OUTPUT") {
        // Rows after the first (a retry's detail) each erased to their end, as the agent erases its last.
        // codex draws its `■` error cell red: its live rules read only its own ink (agents/row-ink.ts).
        const inked = e.screenTail.map((row) => (row.startsWith("■") ? `\x1b[31m${row}\x1b[39m` : row));
        const text = inked.join("\x1b[K\r\n") || "working";
        await hub.send(agent, { op: text === QUESTION ? "ask" : "print", text });
      } else if (e.type === "CHILD.EXIT" && !actor.getSnapshot().matches("restarting"))
        await hub.send(agent, { op: "exit", code: e.exitCode ?? 1 });
      else if (e.type === "INPUT" || e.type === "KEYS") {
        await hub.ready(agent); // before its raw mode, the terminal would echo the input
        actor.send(e);
        expect(await hub.input(agent)).toBe(e.type === "INPUT" ? e.text : "y");
      } else if (e.type.startsWith("LEASE.")) desk.lease(e);
      else if (e.type.startsWith("CREDENTIALS.")) desk.credentials(g, e);
      // Everything else (spawned, spawn error, a TERMed run's exit, tree gone) the runtime does by itself.
      await follow.took(path.keys[i]!, path.serialized[i], `step ${i} (${e.type})`);
      // What the runtime typed by itself reached the agent: the nudge's Enter, the default answer.
      if (e.type.startsWith("xstate.after.stallNudge")) expect(await hub.input(agent)).toBe("");
      if (path.keys[i]!.some((k) => k.includes("[mayAutoAnswer]"))) expect(await hub.input(agent)).toBe("y");
    }
    expect(actor.getSnapshot().value).toEqual(path.state.value);
  } catch (err) {
    (err as Error).message = `path ${n}: ${path.description}\n${(err as Error).message}`;
    throw err;
  } finally {
    follow.stop();
    if (actor.getSnapshot().status === "active") actor.send({ type: "KILL", reason: "path_end" });
    system.stop();
  }
  // Every lease granted was released exactly once (a kill while waiting cancels the request instead).
  expect(desk.got.filter((t) => t === "RELEASE").length).toBe(
    path.steps.filter((s) => s.event.type === "LEASE.GRANTED").length,
  );
  // Each renewal the clock fired reached the broker.
  expect(desk.got.filter((t) => t === "LEASE.RENEW").length).toBe(
    path.steps.filter((s) => s.event.type === "LEASE.RENEW_DUE").length,
  );
  return Date.now() - started;
}

beforeAll(() => hub.listen());
afterAll(async () => {
  await reaper.whenIdle();
  await hub.close();
});

describe("session statechart, model-based, on real ptys", () => {
  // Every edge of the base model, plus paths that take every transition of issue 10's moves
  // (KEYS, run deadline, nudge, default answer): their edge cover would triple the run time.
  const base = sessionPaths({ question: QUESTION });
  const judged = sessionPaths({ question: QUESTION, judgement: true, cover: "transitions" });
  // The busy stall's moves (a busy line's counter ticking), judged as codex: one run without an account.
  const busy = sessionPaths({ question: QUESTION, busy: true, account: false, cover: "transitions" });
  const generated = { ...base, paths: [...base.paths, ...judged.paths, ...busy.paths] };

  it("the model reaches every abstract state by shortest paths (xstate/graph TestModel)", () => {
    const model = sessionTestModel({ question: QUESTION });
    const shortest = model.getShortestPaths({ allowDuplicatePaths: true });
    expect(new Set(shortest.map((p) => serializeSessionState(p.state))).size).toBe(
      sessionPaths({ question: QUESTION, account: false }).states,
    );
    expect(model.getShortestPaths({ toState: (s) => s.value === "completed" }).length).toBeGreaterThan(0);
  });

  it("every generated path runs on the real runtime as the machine predicts; 100% of the transitions", async () => {
    const { results: times, failures, ms } = await runPool(generated.paths, CONCURRENCY, runPath);
    const report = coverageReport(sessionMachine, rec.taken("session"), rec.visited("session"));
    const seconds = (ms / 1000).toFixed(1);
    console.log(
      `model: ${generated.states} abstract states, ${generated.edges} edges, ${generated.paths.length} paths ` +
        `(${generated.paths.reduce((a, p) => a + p.steps.length - 1, 0)} steps) run on real ptys in ${seconds} s ` +
        `(${CONCURRENCY} at a time; slowest path ${Math.max(...times)} ms)\n${report.text}`,
    );
    expect(failures.map((f) => f.message)).toEqual([]);
    expect(report.unknown).toEqual([]);
    expect(report.transitions.total).toBe(machineTransitions(sessionMachine).length);
    // Every transition but the type-ahead's: input sent before the first child runs is written at its
    // spawn, before the agent's raw mode, and the terminal echoes it, an output the chart cannot
    // predict (it is the kernel's). Those two are driven in test/session.machine.test.ts (SimulatedClock)
    // and on a real pty in test/conductor.integration.test.ts. And an actor's error: a fake run that
    // throws drives it in test/actor-errors.test.ts (a real one is not made to fail on purpose). And a
    // host outage's wait and input a dying link may have lost (HOST_WAIT_, INPUT_UNSURE_TRANSITIONS):
    // a local pty has no host. And a menu's answer: a command asks no menu.
    expect([...report.transitions.missing].sort()).toEqual([...UNREACHED].sort());
    expect(report.transitions.covered).toBe(report.transitions.total - UNREACHED.length);
    expect(report.states.covered).toBe(report.states.total);
  }, 420_000); // 153 paths: ~100 s on an idle machine, 220 s at load 25

  it("is not vacuous: a runtime that restarts when the chart says not to is caught at the step", async () => {
    const key = "failed: always [mayRestart] → restarting";
    const path = generated.paths
      .filter((p) => p.keys.flat().includes(key))
      .sort((a, b) => a.steps.length - b.steps.length)[0]!;
    await expect(runPath(path, 999, { mayRestart: () => false })).rejects.toThrow(
      /the runtime took "failed: always → dead"/,
    );
  });
});
