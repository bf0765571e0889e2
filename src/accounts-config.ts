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
import {
  ACCOUNT_ID,
  AccountsConfigError,
  type AccountsConfigIssue,
  describe,
  EXAMPLES,
  ENV_NAME,
  type Key,
  accountLabel,
  exampleFor,
  formatPath,
  fromZod,
} from "./accounts-config-issues.js";
import { fileProblem, readJsonFile, readJsonFileSync } from "./json-file.js";
import { ConductorError } from "../machines/conductor-error.js";
import { z } from "zod";
import { type AccountMode, type AccountPolicy, resolveAccountPolicy, type Tier } from "../machines/account.machine.js";
import type { BrokerAccountSpec, BrokerInput, Lease } from "../machines/broker.machine.js";

import { type Provider, PROVIDERS } from "../machines/providers.js";

export { PROVIDERS, type Provider };
export { AccountsConfigError, type AccountsConfigIssue };

/** A key given twice in the file is refused (json-duplicates.ts). */
const UNIQUE = { uniqueKeys: true } as const;
const MODES = ["profile", "env", "auth"] as const;
const TIER_NAMES = ["pro", "plus", "free", "unknown"] as const;

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
      result.error.issues.flatMap((i) => fromZod(i, json, accountsFileSchema)),
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
  const config = { accounts, defaults: resolveAccountPolicy(result.data.defaults ?? {}) };
  parsedConfigs.add(config);
  return config;
}

/** Results of `parseAccountsConfig`: only these are taken as checked (a look-alike object is parsed). */
const parsedConfigs = new WeakSet<object>();

/**
 * Accounts given as an object: `parseAccountsConfig`'s own result as it is, anything else parsed (a
 * field review: `{}` or `{ codex: [...] }` was trusted as parsed and failed with a TypeError deep in
 * the broker).
 */
export function checkedAccountsConfig(config: unknown, where: string, baseDir?: string): AccountsConfig {
  if (typeof config === "object" && config !== null && parsedConfigs.has(config)) return config as AccountsConfig;
  return parseAccountsConfig(config, where, baseDir);
}

const wholeFileError = (file: string) => (problem: string) =>
  new AccountsConfigError(file, [{ path: "", problem, example: fileProblem(problem) ? "" : (EXAMPLES[""] as string) }]);

export async function loadAccountsConfig(file: string): Promise<AccountsConfig> {
  const full = path.resolve(file);
  return parseAccountsConfig(await readJsonFile(full, wholeFileError(file), UNIQUE), file, path.dirname(full));
}

/** For `createConductor`, which is synchronous: the file is read once, at creation. */
export function loadAccountsConfigSync(file: string): AccountsConfig {
  const full = path.resolve(file);
  return parseAccountsConfig(readJsonFileSync(full, wholeFileError(file), UNIQUE), file, path.dirname(full));
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
 * empty VAR throws a ConductorError (CREDENTIALS) naming the account and the variable, never a
 * value: the environment's fault, not the file's (a field review: it said "invalid accounts file").
 */
export function resolveAccountEnv(
  account: Pick<AccountConfig, "provider" | "id" | "env">,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Record<string, string> {
  const out: Record<string, string> = {};
  const unset: string[] = [];
  const label = `${account.provider} account "${account.id}"`;
  for (const [name, template] of Object.entries(account.env ?? {})) {
    out[name] = template.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (m, v: string | undefined) => {
      if (m === "$$") return "$";
      const value = env[v as string];
      if (value === undefined || value === "") {
        unset.push(
          `its env ${name} refers to \${${v}}, which is ${value === undefined ? "not set" : "empty"} in the conductor's environment (export ${v}=... before starting the conductor)`,
        );
        return "";
      }
      return value;
    });
  }
  if (unset.length > 0)
    throw new ConductorError(`${label}: ${unset.join("; ")}; the accounts file itself is fine`, {
      code: "CREDENTIALS",
    });
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
