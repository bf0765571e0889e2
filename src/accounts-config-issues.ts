/**
 * What is wrong in an accounts file, said so that it can be fixed: the account (provider + id), the
 * field's path, the problem and a correct example. accounts-config.ts makes the checks.
 */
import type { z } from "zod";
import { PROVIDERS } from "../machines/providers.js";
import { ConfigError } from "./errors.js";
import { keysKnownAt, unknownKeyProblem } from "./schema/issues.js";

/** An account id: what the broker, the logs and credential home directories may name. */
export const ACCOUNT_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export interface AccountsConfigIssue {
  /** e.g. `providers.codex[1].authFile`. */
  path: string;
  /** `codex account "work"` (or `codex account #2` when the id itself is wrong); absent for file-level issues. */
  account?: string;
  problem: string;
  example: string;
}

export class AccountsConfigError extends ConfigError {
  override readonly name: string = "AccountsConfigError";
  declare readonly issues: readonly AccountsConfigIssue[];
  constructor(where: string, issues: readonly AccountsConfigIssue[]) {
    super(
      where,
      issues.map((i) => ({ ...i, ...(i.account ? { subject: i.account } : {}) })),
      "accounts file",
    );
  }
}

export const EXAMPLES: Record<string, string> = {
  "": `{ "providers": { "codex": [{ "id": "work", "mode": "auth", "authFile": "~/.codex-accounts/work.json", "tier": "pro" }] } }`,
  providers: `"providers": { "codex": [...], "gemini": [...], "claude": [...] }`,
  account: `{ "id": "work", "mode": "env", "env": { "OPENAI_API_KEY": "\${OPENAI_KEY_WORK}" }, "tier": "plus" }`,
  id: `"id": "work-2" (letters, digits, ".", "_", "-"; unique per provider)`,
  mode: `"mode": "auth" (one of "profile", "env", "auth")`,
  profile: `"profile": "work" (a profile in ~/.codex/config.toml)`,
  env: `"env": { "OPENAI_API_KEY": "\${OPENAI_KEY_WORK}" }`,
  authFile: `"authFile": "~/.codex-accounts/work.json"`,
  host: `"host": "build-box"`,
  tier: `"tier": "pro" (one of "pro", "plus", "free", "unknown")`,
  defaults: `"defaults": { "cooldownMs": 300000, "leaseTtlMs": 1800000, "circuit": { "failures": 3, "windowMs": 600000 } }`,
  cooldownMs: `"cooldownMs": 300000`,
  leaseTtlMs: `"leaseTtlMs": 1800000`,
  circuit: `"circuit": { "failures": 3, "windowMs": 600000 }`,
  failures: `"failures": 3`,
  windowMs: `"windowMs": 600000`,
};

export type Key = string | number;
export const formatPath = (p: readonly Key[]) =>
  p
    .map((k, i) =>
      typeof k === "number" ? `[${k}]` : ENV_NAME.test(k) ? `${i ? "." : ""}${k}` : `[${JSON.stringify(k)}]`,
    )
    .join("");

/** The example for the deepest named field of a path (env variable names fall back to "env"). */
export function exampleFor(p: readonly Key[]): string {
  const named = p.filter((k): k is string => typeof k === "string");
  for (let i = named.length - 1; i >= 0; i--) {
    const ex = EXAMPLES[named[i] as string];
    if (ex) return ex;
    if (named[i - 1] === "env") return EXAMPLES.env as string;
  }
  return p[0] === "providers" && typeof p[2] === "number" ? (EXAMPLES.account as string) : (EXAMPLES[""] as string);
}

/** `codex account "work"` for a path inside an account, from the raw input (so it works before parsing). */
export function accountLabel(input: unknown, p: readonly Key[]): string | undefined {
  if (p[0] !== "providers" || typeof p[1] !== "string" || typeof p[2] !== "number") return undefined;
  const raw = (input as { providers?: Record<string, unknown[]> }).providers?.[p[1]]?.[p[2]] as
    | { id?: unknown }
    | undefined;
  return typeof raw?.id === "string" && ACCOUNT_ID.test(raw.id)
    ? `${p[1]} account "${raw.id}"`
    : `${p[1]} account #${p[2] + 1}`;
}

export function describe(v: unknown): string {
  if (v === undefined) return "nothing";
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "object") return "an object";
  const s = JSON.stringify(v);
  return `${typeof v} ${s.length > 40 ? `${s.slice(0, 37)}…` : s}`;
}

export function fromZod(issue: z.core.$ZodIssue, input: unknown, root?: z.ZodType): AccountsConfigIssue[] {
  const p = issue.path.filter((k): k is Key => typeof k !== "symbol");
  const got = p.reduce<unknown>(
    (v, k) => (v !== null && typeof v === "object" ? (v as Record<Key, unknown>)[k] : undefined),
    input,
  );
  const make = (problem: string, where: readonly Key[] = p): AccountsConfigIssue => {
    const account = accountLabel(input, where);
    return { path: formatPath(where), ...(account ? { account } : {}), problem, example: exampleFor(where) };
  };
  switch (issue.code) {
    case "unrecognized_keys":
      return issue.keys.map((k) =>
        p.length === 1 && p[0] === "providers"
          ? make(`unknown provider "${k}" (supported: ${PROVIDERS.join(", ")})`, [...p, k])
          : make(unknownKeyProblem(k, root ? keysKnownAt(root, p) : []), [...p, k]),
      );
    case "invalid_type":
      return [
        make(
          got === undefined
            ? "is required"
            : `expected ${issue.expected === "int" ? "a whole number" : issue.expected}, got ${describe(got)}`,
        ),
      ];
    case "invalid_value":
      return [make(`must be one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}, got ${describe(got)}`)];
    case "invalid_format":
      return [
        make(
          `${describe(got)} is not a valid id: a letter or digit, then letters, digits, ".", "_" or "-", at most 64 characters`,
        ),
      ];
    case "too_small":
      return [
        make(
          typeof got === "string"
            ? "must not be empty"
            : `must be >= ${(issue as { minimum: unknown }).minimum}, got ${describe(got)}`,
        ),
      ];
    default:
      return [make(issue.message)];
  }
}
