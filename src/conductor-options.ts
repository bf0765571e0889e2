/**
 * Options of `createConductor` and `spawnSession`, checked up front by the one schema
 * (src/schema/) that also checks the run-config file, so a typo fails at the call with the field
 * named, instead of somewhere inside a running session.
 */
import { accessSync, existsSync, constants as fsc, mkdirSync, statSync } from "node:fs";
import { dirname } from "node:path";
import type { InspectionEvent, Observer } from "xstate";
import type { PolicyOverrides } from "../machines/session.policy.js";
import type { AccountsConfig } from "./accounts-config.js";
import { OptionsError } from "./errors.js";
import type { MeshRegistry } from "./mesh-registry.js";
import { conductorOptionsSchema, type ConductorOptionsInput } from "./schema/conductor.js";
import { checkOptions } from "./schema/check-options.js";
import { issuesOf } from "./schema/issues.js";
import { keySequence } from "./schema/primitives.js";
import { policyFrom } from "./schema/policy-fields.js";
import type { ProbeOptionsInput, ProbeVerdict, RestartOptionsInput } from "./schema/policy.js";
import { spawnConfigSchema, type SpawnConfigInput } from "./schema/session.js";

export type { ProbeVerdict };
export type ProbeOptions = ProbeOptionsInput;
export type RestartOptions = RestartOptionsInput;

export type ConductorOptions = Omit<ConductorOptionsInput, "meshRegistry" | "inspect" | "accounts" | "hosts"> & {
  meshRegistry?: MeshRegistry;
  /** Accounts to lease (path of an accounts file, or its content): see docs/accounts.md. */
  accounts?: string | AccountsConfig | { providers: unknown };
  /** Hosts for remote sessions (path of a hosts file, or its content): see docs/remote.md. */
  hosts?: string | { hosts: unknown };
  /** Any XState v5 inspection observer (e.g. `@statelyai/inspect`'s `inspector.inspect`). */
  inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void);
};

export type SpawnConfig = SpawnConfigInput;

/** Throws an OptionsError naming every bad field, its problem and an example. */
export function validateConductorOptions(opts: unknown): asserts opts is ConductorOptions {
  checkOptions<ConductorOptions>(conductorOptionsSchema, opts, "createConductor", `{ logsDir: "./logs" }`);
}

export function validateSpawnConfig(config: unknown): asserts config is SpawnConfig {
  checkOptions<SpawnConfig>(
    spawnConfigSchema,
    config,
    "spawnSession",
    `{ id: "review-1", agent: "codex", prompt: "Review src/" }`,
  );
}

/**
 * Conductor-wide settings, then the session's own, into the machine's policy: every key of
 * `SessionPolicy` through `POLICY_FIELDS`, so none can be forgotten here.
 */
export function policyFor(opts: ConductorOptions, config: SpawnConfig): PolicyOverrides {
  return policyFrom(config, opts) as PolicyOverrides;
}

/** Key names the session can write (machines/session.keys.ts); an OptionsError names the first unknown one. */
export function checkKeys(where: string, keys: unknown): void {
  const result = keySequence().safeParse(keys);
  if (!result.success) throw new OptionsError(where, issuesOf(result.error, keySequence(), keys));
}

/** The logs directory, or an OptionsError naming `logsDir` (a file in the way, no permission), not a bare EEXIST. */
/**
 * `mkdir -p`, one level at a time from the first that exists. Node's own recursive mkdir spins at
 * 100% CPU forever where a parent exists but refuses new entries with ENOENT (under /proc: a field
 * review's `"logsDir": "/proc/nope"` hung the CLI).
 */
function makeDirs(dir: string): void {
  const missing: string[] = [];
  for (let d = dir; !existsSync(d); d = dirname(d)) {
    missing.push(d);
    if (dirname(d) === d) break;
  }
  for (const d of missing.reverse()) {
    try {
      // The logs directory for its user only (its files are 0600; a 0700 folder also hides which
      // sessions ran and guards any file a CLI makes there itself): all that reads it, the CLI,
      // `conductor report`, the control socket's clients, runs as that user. Parents as `mkdir -p`.
      mkdirSync(d, d === dir ? 0o700 : undefined);
    } catch (e) {
      // Made meanwhile by someone else is as good, if it is a directory.
      if ((e as NodeJS.ErrnoException).code !== "EEXIST" || !statSync(d).isDirectory()) throw e;
    }
  }
  if (!statSync(dir).isDirectory()) throw Object.assign(new Error(`${dir} is not a directory`), { code: "ENOTDIR" });
}

export function makeLogsDir(logsDir: string, given: string): void {
  try {
    makeDirs(logsDir);
    accessSync(logsDir, fsc.W_OK | fsc.X_OK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === "EEXIST" || code === "ENOTDIR"
        ? "a file is in the way (it, or a directory above it, is not a directory)"
        : code === "EACCES" || code === "EPERM" || code === "EROFS" || code === "ENOENT"
          ? `it cannot be created or written here (${code})`
          : (e as Error).message;
    // As given, then resolved when they differ: a CLI that resolved it already read it twice.
    const shown = given === logsDir ? `"${logsDir}"` : `"${given}" (${logsDir})`;
    throw new OptionsError("createConductor", [
      { path: "logsDir", problem: `${shown} cannot be the logs directory: ${why}`, example: '"./logs"' },
    ]);
  }
}

/** The data of a config copied (arrays, plain objects), its functions (onCompleted, onProbe) kept. */
export function copyOfConfig<T>(value: T): T {
  if (Array.isArray(value)) return value.map(copyOfConfig) as T;
  if (value !== null && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype)
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, copyOfConfig(v)])) as T;
  return value;
}
