/** Drive the session machine with a fake pty actor and XState's SimulatedClock. */
import { type CallbackActorLogic, createActor, fromCallback, SimulatedClock } from "xstate";
import { sessionMachine, type SessionEmitted } from "../../machines/session.machine.js";
import type { PolicyOverrides } from "../../machines/session.policy.js";
import type {
  ChildCommand,
  ChildSpec,
  HostStatusEvent,
  HostWatchInput,
  PtyProcessInput,
} from "../../machines/session.types.js";

/** Every move any harness session made in this test file (for the table-coverage check). */
export const observedMoves = new Set<string>();

export function startSession(
  policy: PolicyOverrides = {},
  {
    autoStart = true,
    agent = "command",
    spec = { argv: ["/bin/true"] } as ChildSpec,
    account = false,
    hostWatch,
  }: {
    autoStart?: boolean;
    agent?: string;
    spec?: ChildSpec;
    account?: boolean;
    /** Stands in for the runtime's host watch (test/session.host-wait.test.ts). */
    hostWatch?: CallbackActorLogic<HostStatusEvent, HostWatchInput>;
  } = {},
) {
  const clock = new SimulatedClock();
  const commands: ChildCommand[] = [];
  const spawned: PtyProcessInput[] = [];
  let stoppedChildren = 0;
  const fakePty = fromCallback<ChildCommand, PtyProcessInput>(({ input, receive }) => {
    spawned.push(input);
    receive((c) => commands.push(c));
    return () => void stoppedChildren++;
  });
  const actors = hostWatch ? { ptyProcess: fakePty, hostWatch } : { ptyProcess: fakePty };
  const actor = createActor(sessionMachine.provide({ actors }), {
    clock,
    input: { id: "s1", agent, spec, policy, ...(account ? { account: { provider: agent } } : {}) },
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
    /** The run's output bytes so far, as the last CHILD.OUTPUT counted them. */
    bytes: () => bytes,
    spawnedEv: (pid = 4242, generation = gen()) => actor.send({ type: "CHILD.SPAWNED", generation, pid }),
    /** New output; by default a screen that changed (progress): same screen twice is no progress. */
    output: (screenTail: string[] = [`working ${bytes}`], lagMs = 0, generation = gen()) => {
      bytes += 10;
      actor.send({ type: "CHILD.OUTPUT", generation, bytes, lagMs, screenTail });
    },
    /** What the screen actor sends: the whole screen, the title, the time of the reading. */
    screen: (screen: string[], title: string | null = null, at?: number, generation = gen()) => {
      bytes += 10;
      actor.send({
        type: "CHILD.OUTPUT",
        generation,
        bytes,
        lagMs: 0,
        screenTail: screen.filter((l) => l.trim() !== "").slice(-5),
        screen,
        title,
        ...(at !== undefined ? { at } : {}),
      });
    },
    exit: (
      exitCode: number | null,
      signal: string | null = null,
      recentOutput = "",
      generation = gen(),
      reading: { screen?: string[]; title?: string | null; at?: number } = {},
    ) => actor.send({ type: "CHILD.EXIT", generation, exitCode, signal, recentOutput, ...reading }),
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
