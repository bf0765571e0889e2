/**
 * The session chart's actions for what its user asks of it: a restart, a kill, input (typed to the
 * running child, or kept as type-ahead until one runs). The run itself: session.run-actions.ts.
 */
import { assign, emit, enqueueActions, sendTo } from "xstate";
import type { Ev } from "./session.context.js";
import { answersQuestion, inputCommand, inputProblem, menuWrite, submitsLater, typeAheadDue } from "./session.input.js";
import { openQuestion } from "./session.judgement.js";
import { sessionRunSetup } from "./session.run-actions.js";
import { STATES } from "./session.types.js";

export const sessionRequestSetup = sessionRunSetup.extend({
  actions: {
    /**
     * A restart asked for (restartSession): this run ends as a kill would end it, but the session goes
     * on. Counted in `restarts`, not in the crash budget (`recentRestarts`); no backoff.
     */
    noteRestartRequest: assign(({ context, event }) => ({
      reason: (event as Ev<"RESTART">).reason ?? "user_restart",
      restarts: context.restarts + 1,
      userRestart: true,
      backoffElapsed: true,
      failureMode: null,
    })),
    /** Asked again while a restart waits out its backoff (or a rate limit's reset): start as soon as the tree is gone. */
    skipBackoff: assign(({ event }) => ({
      reason: (event as Ev<"RESTART">).reason ?? "user_restart",
      userRestart: true,
      backoffElapsed: true,
    })),
    noteKill: assign(({ event }) => ({
      killRequested: true,
      reason: (event as Ev<"KILL">).reason ?? "user_kill",
      failureMode: "killed" as const,
    })),
    /** The text and Enter (INPUT) or the keys' bytes (KEYS), to the running child (session.input.ts). */
    forwardInput: enqueueActions(({ context, event, enqueue }) => {
      const atMenu = submitsLater(context, event);
      // A menu's answer: the choice the text names (session.input.ts); a number's Enter once due, only
      // if the number left the menu as it was.
      const choice = atMenu ? menuWrite(context, (event as Ev<"INPUT">).text) : null;
      const write = choice ? { data: choice.data } : inputCommand(context, event);
      const menu = choice?.confirmLater === true;
      enqueue.sendTo("pty", { type: "CHILD.WRITE" as const, ...write });
      if (context.inputUnsure) enqueue.assign({ inputUnsure: null }); // this one is the last input now
      const waiting = context.state === STATES.INPUT_WAIT && answersQuestion(event);
      // Text at a composer or a prompt line is its answer once its Enter is written (the writer's
      // pause): until then the question drawn again is this one, the text still in it.
      if (menu || (waiting && write.after))
        enqueue.raise({ type: "INPUT.SUBMIT", generation: context.generation, menu }, { delay: "submitAnswer" });
      if (waiting && !write.after) enqueue.assign({ answerFrom: context.screenKey.content });
      if (waiting && context.inputWait?.kind === "trust") enqueue.assign({ trustAnswered: context.inputWait.question });
      if (event.type !== "INPUT") return;
      const asked = context.inputWait?.question ?? openQuestion(context, context.screen, context.title)?.question;
      enqueue.assign({ answeredQuestion: asked ?? null });
    }),
    /** The Enter of a menu's answer typed as text, which the text did not answer (session.input.ts). */
    submitAnswer: sendTo("pty", { type: "CHILD.WRITE" as const, data: "\r" }),
    /** The text's Enter is written: the question is answered from here. */
    noteAnswered: assign(({ context }) => ({ answerFrom: context.screenKey.content })),
    /** The type-ahead, in order, once it is due (session.input.ts); from then on input goes to the child only. */
    writeTypeAhead: enqueueActions(({ context, enqueue }) => {
      if (!typeAheadDue(context)) return;
      for (const w of context.typeAhead ?? []) enqueue.sendTo("pty", { type: "CHILD.WRITE", ...w });
      enqueue.assign({ typeAhead: null });
    }),
    /** Before the first child runs (a TUI: its composer): kept, in order, and written by writeTypeAhead. */
    keepTypeAhead: assign({
      typeAhead: ({ context, event }) => [...(context.typeAhead ?? []), inputCommand(context, event)],
    }),
    refuseInput: emit(({ context, event }) => ({
      type: "inputRefused" as const,
      sessionId: context.id,
      input: event.type === "KEYS" ? ("KEYS" as const) : ("INPUT" as const),
      why: inputProblem(event) ?? "malformed",
    })),
    noteInputUnsure: assign(({ event }) => {
      const { type: _type, ...unsure } = event as Ev<"CHILD.INPUT_UNSURE">;
      return { inputUnsure: unsure };
    }),
  },
});
