/** Drive the session machine with a fake pty actor and XState's SimulatedClock. */
import { createActor, fromCallback, SimulatedClock } from "xstate";
import { sessionMachine, type SessionEmitted } from "../../machines/session.machine.js";
import type { PolicyOverrides } from "../../machines/session.policy.js";
import type { ChildCommand, PtyProcessInput } from "../../machines/session.types.js";

/** Every move any harness session made in this test file (for the table-coverage check). */
export const observedMoves = new Set<string>();

export function startSession(policy: PolicyOverrides = {}, { autoStart = true } = {}) {
  const clock = new SimulatedClock();
  const commands: ChildCommand[] = [];
  const spawned: PtyProcessInput[] = [];
  let stoppedChildren = 0;
  const fakePty = fromCallback<ChildCommand, PtyProcessInput>(({ input, receive }) => {
    spawned.push(input);
    receive((c) => commands.push(c));
    return () => void stoppedChildren++;
  });
  const actor = createActor(sessionMachine.provide({ actors: { ptyProcess: fakePty } }), {
    clock,
    input: { id: "s1", agent: "command", spec: { argv: ["/bin/true"] }, policy },
  });
  const moves: string[] = [];
  const emitted: SessionEmitted[] = [];
  actor.on("*", (e) => {
    emitted.push(e as SessionEmitted);
    if (e.type === "stateChange") {
      moves.push(`${e.from}->${e.to}`);
      observedMoves.add(`${e.from}->${e.to}`);
    }
  });
  actor.start();
  if (autoStart) actor.send({ type: "START" });
  const gen = () => actor.getSnapshot().context.generation;
  let bytes = 0;
  const h = {
    actor,
    clock,
    commands,
    spawned,
    moves,
    emitted,
    get stoppedChildren() {
      return stoppedChildren;
    },
    state: () => actor.getSnapshot().context.state,
    value: () => actor.getSnapshot().value as string,
    ctx: () => actor.getSnapshot().context,
    gen,
    spawnedEv: (pid = 4242, generation = gen()) => actor.send({ type: "CHILD.SPAWNED", generation, pid }),
    output: (screenTail: string[] = ["working"], lagMs = 0, generation = gen()) =>
      actor.send({ type: "CHILD.OUTPUT", generation, bytes: (bytes += 10), lagMs, screenTail }),
    exit: (exitCode: number | null, signal: string | null = null, recentOutput = "", generation = gen()) =>
      actor.send({ type: "CHILD.EXIT", generation, exitCode, signal, recentOutput }),
    gone: (generation = gen()) => actor.send({ type: "CHILD.GONE", generation }),
    /** A run that ends badly and whose tree is then reaped. */
    crash: (code = 1, recent = "") => {
      h.exit(code, null, recent);
      h.gone();
    },
    advance: (ms: number) => clock.increment(ms),
  };
  return h;
}
