/**
 * The session machine's input, checked where an embedder's createActor takes it (a field review:
 * `policy: { stallMs: "60000" }` stalled at 600 000 ms, a typo was ignored, a missing spec threw a
 * bare TypeError at START).
 */
import { describe, expect, it } from "vitest";
import { createActor } from "xstate";
import { sessionMachine } from "../machines/session.machine.js";

const errorOf = (input: unknown) => {
  const snap = createActor(sessionMachine, { input } as never).getSnapshot();
  expect(snap.status).toBe("error");
  return String((snap.error as Error).message);
};
const good = { id: "s", agent: "command", spec: { argv: ["/bin/true"] } };

describe("sessionMachine input", () => {
  it("a good input makes a session in init", () => {
    expect(createActor(sessionMachine, { input: good }).getSnapshot().value).toBe("init");
  });

  it("a number given as a string is refused, naming the field", () => {
    expect(errorOf({ ...good, policy: { stallMs: "60000" } })).toBe(
      'sessionMachine input: policy.stallMs must be a finite number ≥ 0, got string "60000"',
    );
    expect(errorOf({ ...good, policy: { maxRunMs: -1 } })).toMatch(
      /policy\.maxRunMs must be a finite number ≥ 0 or null, got number -1/,
    );
  });

  it("a mistyped policy key is refused with the key it was meant to be", () => {
    expect(errorOf({ ...good, policy: { stalMs: 5 } })).toBe(
      'sessionMachine input: policy.stalMs is not a policy key: did you mean "stallMs"?',
    );
  });

  it("no input, no spec, an empty argv: said, with what to pass", () => {
    expect(errorOf(undefined)).toMatch(
      /^sessionMachine input: input must be an object .* createActor\(sessionMachine, \{ input \}\)/,
    );
    expect(errorOf({ id: "s", agent: "command" })).toMatch(/^sessionMachine input: spec must be an object/);
    expect(errorOf({ ...good, spec: { argv: [] } })).toMatch(
      /^sessionMachine input: spec.argv must be a non-empty array/,
    );
  });

  it("null where a policy number means never is accepted", () => {
    const a = createActor(sessionMachine, { input: { ...good, policy: { windowMs: null, stallTimeoutMs: null } } });
    expect(a.getSnapshot().status).toBe("active");
  });
});
