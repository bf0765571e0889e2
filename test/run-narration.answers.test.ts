/**
 * `conductor run`'s answers (a run config's `answers`): typed to the CLI's questions, never into its
 * composer, and not without end to a question that comes back (a field review: the model's own
 * "Do you want to proceed?" over "1. Yes / 2. No" got "1" typed every 1.5 s).
 */
import { describe, expect, it } from "vitest";
import { narrateRun } from "../src/cli/run-narration.js";

function harness() {
  const handlers = new Map<string, (e: unknown) => void>();
  const sent: [string, string][] = [];
  const notes: string[] = [];
  const conductor = {
    on: (name: string, fn: (e: unknown) => void) => handlers.set(name, fn),
    sendInput: (id: string, text: string) => {
      sent.push([id, text]);
      return true;
    },
    getSnapshot: () => [],
  };
  const view = { note: (line: string) => notes.push(line), moved: () => undefined };
  const config = { sessions: [{ id: "a", answers: [{ match: "proceed", send: "1" }] }] };
  narrateRun(conductor as never, view as never, config as never);
  const ask = (kind: string, line: string, generation = 1) =>
    handlers.get("inputWait")?.({
      sessionId: "a",
      kind,
      line,
      question: line,
      generation,
      pattern: "menu",
      choices: [],
    });
  return { sent, notes, ask };
}

describe("conductor run's answers", () => {
  it("a composer's line is the agent's words: nothing is typed there, even when an answer matches it", () => {
    const h = harness();
    h.ask("composer", "● Do you want to proceed?");
    expect(h.sent).toEqual([]);
    expect(h.notes).toEqual(['a waits at its composer: "● Do you want to proceed?"']);
  });

  it("the CLI's question is answered, the same question of a run at most 3 times; a new run's again", () => {
    const h = harness();
    for (let i = 0; i < 5; i++) h.ask("approval", "Do you want to proceed?");
    expect(h.sent).toEqual([
      ["a", "1"],
      ["a", "1"],
      ["a", "1"],
    ]);
    expect(h.notes.at(-1)).toBe('a asked "Do you want to proceed?" again after 3 answers: not answered again');
    h.ask("approval", "Do you want to proceed?", 2);
    expect(h.sent).toHaveLength(4);
  });
});
