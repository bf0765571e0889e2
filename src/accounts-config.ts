/**
 * The accounts file: which accounts the broker may lease, per provider, and its timings.
 *
 *   { "providers": { "codex": [ { "id": "work", "mode": "auth", "authFile": "~/.codex-accounts/work.json", "tier": "pro" } ] },
 *     "defaults": { "cooldownMs": 300000, "leaseTtlMs": 1800000, "circuit": { "failures": 3, "windowMs": 600000 } } }
 *
 * Every error names the account (provider + id), the field, the problem and a correct example.
 * Env values may say `${VAR}`: resolved from the conductor's environment at lease time, never
 * before, and a missing VAR names the account and the variable, never any value. `$$` is a `$`.
 * The broker only ever gets `brokerAccountsOf(config)`: env variable names, no values.
 */
import { homedir } from "node:os";
import path from "node:path";
import { ConfigError } from "./errors.js";
import { readJsonFile, readJsonFileSync } from "./json-file.js";
import { z } from "zod";
import { type AccountMode, type AccountPolicy, resolveAccountPolicy, type Tier } from "../machines/account.machine.js";
import type { BrokerAccountSpec, BrokerInput, Lease } from "../machines/broker.machine.js";

import { type Provider, PROVIDERS } from "../machines/providers.js";

export { PROVIDERS, type Provider };
const MODES = ["profile", "env", "auth"] as const;
const TIER_NAMES = ["pro", "plus", "free", "unknown"] as const;
const ACCOUNT_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

const accountSchema = z.strictObject({
  id: z.string().regex(ACCOUNT_ID),
  mode: z.enum(MODES),
  profile: z.string().min(1).optional(),
  env: z.record(z.string(), z.string()).optional(),
  authFile: z.string().min(1).optional(),
  host: z.string().min(1).optional(),
  tier: z.enum(TIER_NAMES).optional(),
});
const positiveMs = z.number().int().min(1);
const accountsFileSchema = z.strictObject({
  providers: z.strictObject({
    codex: z.array(accountSchema).optional(),
    gemini: z.array(accountSchema).optional(),
    claude: z.array(accountSchema).optional(),
  }),
  defaults: z
    .strictObject({
      cooldownMs: positiveMs.optional(),
      leaseTtlMs: positiveMs.optional(),
      circuit: z
        .strictObject({ failures: z.number().int().min(1).optional(), windowMs: positiveMs.optional() })
        .optional(),
    })
    .optional(),
});

export interface AccountConfig {
  provider: Provider;
  id: string;
  mode: AccountMode;
  tier: Tier;
  profile?: string;
  /** Values as written (`${VAR}` unresolved): secrets only appear after `resolveAccountEnv`. */
  env?: Readonly<Record<string, string>>;
  /** Absolute (resolved against the accounts file's directory, `~` expanded). */
  authFile?: string;
  host?: string;
}

export interface AccountsConfig {
  accounts: AccountConfig[];
  defaults: AccountPolicy;
}

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

const EXAMPLES: Record<string, string> = {
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

type Key = string | number;
const formatPath = (p: readonly Key[]) =>
  p
    .map((k, i) =>
      typeof k === "number" ? `[${k}]` : ENV_NAME.test(k) ? `${i ? "." : ""}${k}` : `[${JSON.stringify(k)}]`,
    )
    .join("");

/** The example for the deepest named field of a path (env variable names fall back to "env"). */
function exampleFor(p: readonly Key[]): string {
  const named = p.filter((k): k is string => typeof k === "string");
  for (let i = named.length - 1; i >= 0; i--) {
    const ex = EXAMPLES[named[i] as string];
    if (ex) return ex;
    if (named[i - 1] === "env") return EXAMPLES.env as string;
  }
  return p[0] === "providers" && typeof p[2] === "number" ? (EXAMPLES.account as string) : (EXAMPLES[""] as string);
}

/** `codex account "work"` for a path inside an account, from the raw input (so it works before parsing). */
function accountLabel(input: unknown, p: readonly Key[]): string | undefined {
  if (p[0] !== "providers" || typeof p[1] !== "string" || typeof p[2] !== "number") return undefined;
  const raw = (input as { providers?: Record<string, unknown[]> }).providers?.[p[1]]?.[p[2]] as
    | { id?: unknown }
    | undefined;
  return typeof raw?.id === "string" && ACCOUNT_ID.test(raw.id)
    ? `${p[1]} account "${raw.id}"`
    : `${p[1]} account #${p[2] + 1}`;
}

function describe(v: unknown): string {
  if (v === undefined) return "nothing";
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "object") return "an object";
  const s = JSON.stringify(v);
  return `${typeof v} ${s.length > 40 ? `${s.slice(0, 37)}…` : s}`;
}

function fromZod(issue: z.core.$ZodIssue, input: unknown): AccountsConfigIssue[] {
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
          : make(`unknown key "${k}"`, [...p, k]),
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

/** Parses `${VAR}` references; returns the variable names, or a problem text. */
export function envReferences(value: string): { vars: string[] } | { problem: string } {
  const vars: string[] = [];
  const rest = value.replace(/\$\$|\$\{([^}]*)\}/g, (m, name: string | undefined) => {
    if (m === "$$") return "";
    if (!ENV_NAME.test(name ?? "")) return "\u0000";
    vars.push(name as string);
    return "";
  });
  if (rest.includes("\u0000"))
    return { problem: `has a \${...} reference whose name is not a valid environment variable name` };
  if (rest.includes("${")) return { problem: `has an unclosed "\${"; write "\${NAME}", or "$$" for a literal "$"` };
  return { vars };
}

/** Rules across fields: each mode needs its field and takes no other mode's field; unique ids. */
function crossChecks(file: z.infer<typeof accountsFileSchema>, input: unknown): AccountsConfigIssue[] {
  const out: AccountsConfigIssue[] = [];
  const at = (p: Key[], problem: string) => {
    const account = accountLabel(input, p);
    out.push({ path: formatPath(p), ...(account ? { account } : {}), problem, example: exampleFor(p) });
  };
  const NEEDS: Record<AccountMode, "profile" | "env" | "authFile"> = {
    profile: "profile",
    env: "env",
    auth: "authFile",
  };
  for (const provider of PROVIDERS) {
    const seen = new Map<string, number>();
    file.providers[provider]?.forEach((a, i) => {
      const base: Key[] = ["providers", provider, i];
      const first = seen.get(a.id);
      if (first !== undefined)
        at(
          [...base, "id"],
          `"${a.id}" is already used by providers.${provider}[${first}]; ids must be unique per provider`,
        );
      else seen.set(a.id, i);
      const needed = NEEDS[a.mode];
      if (a[needed] === undefined) at([...base, needed], `is required when "mode" is "${a.mode}"`);
      for (const [mode, field] of Object.entries(NEEDS)) {
        if (mode !== a.mode && a[field] !== undefined)
          at(
            [...base, field],
            `is only used with "mode": "${mode}", this account's mode is "${a.mode}"; remove it or change the mode`,
          );
      }
      // The auth file is copied into a local credential home: it cannot reach an agent on another host.
      if (a.mode === "auth" && a.host !== undefined)
        at(
          [...base, "host"],
          `a host-bound account cannot be "mode": "auth" (its auth file would stay on this machine); ` +
            `use "env" or "profile" for host "${a.host}", or log in on the host itself`,
        );
      if (a.mode === "profile" && provider !== "codex")
        at([...base, "mode"], `"profile" is a codex feature; use "env" or "auth" for ${provider}`);
      if (a.env && Object.keys(a.env).length === 0) at([...base, "env"], `must set at least one variable`);
      for (const [name, value] of Object.entries(a.env ?? {})) {
        if (!ENV_NAME.test(name))
          at([...base, "env", name], `${JSON.stringify(name)} is not a valid environment variable name`);
        const refs = envReferences(value);
        if ("problem" in refs) at([...base, "env", name], refs.problem);
      }
    });
  }
  return out;
}

function expandPath(p: string, baseDir: string): string {
  if (p === "~" || p.startsWith("~/")) return path.join(homedir(), p.slice(1));
  return path.resolve(baseDir, p);
}

/** Validates parsed JSON; `baseDir` resolves relative `authFile`s (the accounts file's directory). */
export function parseAccountsConfig(json: unknown, where: string, baseDir: string = process.cwd()): AccountsConfig {
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    throw new AccountsConfigError(where, [
      { path: "", problem: `the file must hold a JSON object, got ${describe(json)}`, example: EXAMPLES[""] as string },
    ]);
  }
  const result = accountsFileSchema.safeParse(json);
  if (!result.success)
    throw new AccountsConfigError(
      where,
      result.error.issues.flatMap((i) => fromZod(i, json)),
    );
  const issues = crossChecks(result.data, json);
  if (issues.length > 0) throw new AccountsConfigError(where, issues);
  const accounts: AccountConfig[] = [];
  for (const provider of PROVIDERS) {
    for (const a of result.data.providers[provider] ?? []) {
      accounts.push({
        provider,
        id: a.id,
        mode: a.mode,
        tier: a.tier ?? "unknown",
        ...(a.profile !== undefined ? { profile: a.profile } : {}),
        ...(a.env !== undefined ? { env: { ...a.env } } : {}),
        ...(a.authFile !== undefined ? { authFile: expandPath(a.authFile, baseDir) } : {}),
        ...(a.host !== undefined ? { host: a.host } : {}),
      });
    }
  }
  return { accounts, defaults: resolveAccountPolicy(result.data.defaults ?? {}) };
}

const wholeFileError = (file: string) => (problem: string) =>
  new AccountsConfigError(file, [{ path: "", problem, example: EXAMPLES[""] as string }]);

export async function loadAccountsConfig(file: string): Promise<AccountsConfig> {
  const full = path.resolve(file);
  return parseAccountsConfig(await readJsonFile(full, wholeFileError(file)), file, path.dirname(full));
}

/** For `createConductor`, which is synchronous: the file is read once, at creation. */
export function loadAccountsConfigSync(file: string): AccountsConfig {
  const full = path.resolve(file);
  return parseAccountsConfig(readJsonFileSync(full, wholeFileError(file)), file, path.dirname(full));
}

/** The broker's view: env variable names only, never values. */
export function brokerAccountsOf(config: AccountsConfig): BrokerAccountSpec[] {
  return config.accounts.map((a) => ({
    provider: a.provider,
    id: a.id,
    mode: a.mode,
    tier: a.tier,
    ...(a.host !== undefined ? { host: a.host } : {}),
    ...(a.profile !== undefined ? { profile: a.profile } : {}),
    ...(a.env !== undefined ? { envKeys: Object.keys(a.env).sort() } : {}),
    ...(a.authFile !== undefined ? { authFile: a.authFile } : {}),
  }));
}

export function brokerInputOf(config: AccountsConfig, now?: () => number): BrokerInput {
  return { accounts: brokerAccountsOf(config), policy: config.defaults, ...(now ? { now } : {}) };
}

/**
 * The account's env with `${VAR}` taken from `env` (the conductor's environment). A missing or
 * empty VAR throws an AccountsConfigError naming the account and the variable, never a value.
 */
export function resolveAccountEnv(
  account: Pick<AccountConfig, "provider" | "id" | "env">,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Record<string, string> {
  const out: Record<string, string> = {};
  const issues: AccountsConfigIssue[] = [];
  const label = `${account.provider} account "${account.id}"`;
  for (const [name, template] of Object.entries(account.env ?? {})) {
    out[name] = template.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (m, v: string | undefined) => {
      if (m === "$$") return "$";
      const value = env[v as string];
      if (value === undefined || value === "") {
        issues.push({
          path: `providers.${account.provider}.env.${name}`,
          account: label,
          problem: `refers to \${${v}}, which is ${value === undefined ? "not set" : "empty"} in the conductor's environment`,
          example: `export ${v}=... before starting the conductor`,
        });
        return "";
      }
      return value;
    });
  }
  if (issues.length > 0) throw new AccountsConfigError(`lease of ${label}`, issues);
  return out;
}

/** A granted lease plus the secrets the runtime resolved for it (env mode). Never log this. */
export type ResolvedLease = Lease & { env?: Record<string, string> };

/** Adds the resolved env to an env-mode lease; other modes come back unchanged. */
export function resolveLease(
  lease: Lease,
  config: AccountsConfig,
  env: Readonly<Record<string, string | undefined>> = process.env,
): ResolvedLease {
  if (lease.mode !== "env") return { ...lease };
  const account = config.accounts.find((a) => a.provider === lease.provider && a.id === lease.accountId);
  if (!account)
    throw new Error(
      `lease ${lease.leaseId}: ${lease.provider} account "${lease.accountId}" is not in the accounts file`,
    );
  return { ...lease, env: resolveAccountEnv(account, env) };
}
