/**
 * The session machine's input, checked where it is taken (initialContext). The facade validates
 * every option with its schema first (src/schema); an embedder who spawns `sessionMachine` itself,
 * from JSON say, had no check at all: `policy: { stallMs: "60000" }` made the stall fire at 600 000 ms
 * (the string met `+ 0 - 0`), a typo was ignored, and a missing `spec` threw a bare TypeError at
 * START (a field review). Pure, no schema library: the machines stay free of src/.
 */
import { closest, describeValue } from "./error-words.js";
import { ConductorError } from "./conductor-error.js";
import { DEFAULT_POLICY } from "./session.policy.js";

/** Policy numbers that may also be null ("never"). */
const NULLABLE_NUMBERS = new Set([
  "busyStallMs",
  "stallTimeoutMs",
  "windowMs",
  "maxRunMs",
  "stallNudgeMs",
  "inputWaitTimeoutMs",
]);

function fail(field: string, what: string): never {
  throw new ConductorError(`sessionMachine input: ${field} ${what}`, { code: "INVALID_OPTIONS", field });
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function checkPolicy(policy: unknown): void {
  if (policy === undefined) return;
  if (!isRecord(policy)) fail("policy", `must be an object of policy keys, got ${describeValue(policy)}`);
  const known = Object.keys(DEFAULT_POLICY);
  for (const [key, value] of Object.entries(policy)) {
    if (value === undefined) continue;
    if (!known.includes(key)) {
      const guess = closest(key, known);
      fail(
        `policy.${key}`,
        `is not a policy key${guess ? `: did you mean "${guess}"?` : ` (known: ${known.join(", ")})`}`,
      );
    }
    const nullable = NULLABLE_NUMBERS.has(key);
    if (typeof DEFAULT_POLICY[key as keyof typeof DEFAULT_POLICY] !== "number" && !nullable) continue;
    if (value === null && nullable) continue;
    if (typeof value !== "number" || !Number.isFinite(value) || value < 0)
      fail(`policy.${key}`, `must be a finite number ≥ 0${nullable ? " or null" : ""}, got ${describeValue(value)}`);
  }
}

/** Throws a ConductorError (INVALID_OPTIONS) naming the field, what it must be and what it was. */
export function checkSessionInput(input: unknown): void {
  if (!isRecord(input))
    fail(
      "input",
      `must be an object { id, agent, spec: { argv }, policy? }, got ${describeValue(input)}: pass it as createActor(sessionMachine, { input })`,
    );
  if (typeof input.id !== "string" || input.id === "")
    fail("id", `must be a non-empty string, got ${describeValue(input.id)}`);
  if (typeof input.agent !== "string")
    fail("agent", `must be a string (a label: "codex", "command"), got ${describeValue(input.agent)}`);
  const spec = input.spec;
  if (!isRecord(spec))
    fail("spec", `must be an object { argv, env?, cwd? } (buildLaunchSync makes one), got ${describeValue(spec)}`);
  const argv = spec.argv;
  if (!Array.isArray(argv) || argv.length === 0 || argv.some((a) => typeof a !== "string"))
    fail(
      "spec.argv",
      `must be a non-empty array of strings (the program, then its arguments), got ${describeValue(argv)}`,
    );
  checkPolicy(input.policy);
}
