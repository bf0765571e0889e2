/**
 * The `conductor run config.json` file: schema, friendly errors, path resolution.
 * Every error names the field path, says what is wrong and shows a correct value, because the
 * person reading it is editing JSON by hand. Unknown keys are errors: a typo must not silently
 * fall back to a default.
 */
import path from "node:path";
import type { ConductorOptions, SpawnConfig } from "./conductor-options.js";
import { ConfigError, type ConfigIssue } from "./errors.js";
import { fileProblem, readJsonFile } from "./json-file.js";
import { type RunConfig, runConfigSchema } from "./schema/conductor.js";
import { describeValue, exampleFor, issuesOf } from "./schema/issues.js";
import type { FileSession } from "./schema/session.js";

export { SESSION_ID_PATTERN } from "./schema/primitives.js";
export { ConfigError, type ConfigIssue, type RunConfig, runConfigSchema };
export type SessionConfig = FileSession;

/** Validates parsed JSON. `where` (usually the file path) prefixes the error message. */
export function parseRunConfig(json: unknown, where: string): RunConfig {
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    throw new ConfigError(where, [
      {
        path: "",
        problem: `the file must hold a JSON object, got ${describeValue(json)}`,
        example: exampleFor(runConfigSchema, []),
      },
    ]);
  }
  const result = runConfigSchema.safeParse(json);
  if (!result.success) throw new ConfigError(where, issuesOf(result.error, runConfigSchema, json));
  return result.data;
}

/** Is this command element a path meant relative to the config file? */
function isRelativePath(arg: string, first: boolean): boolean {
  if (path.isAbsolute(arg)) return false;
  return arg.startsWith("./") || arg.startsWith("../") || (first && arg.includes("/"));
}

/**
 * Resolves paths written relative to the config file: `logsDir`, `workdir`, `command[0]` (and
 * `resumeCommand[0]`) when it contains a slash, and any element of either starting with `./` or `../` (not a remote session's
 * `workdir` and `command`: those are the host's). Other arguments are
 * left alone (they may be globs, URLs or text that only looks like a path).
 */
export function resolveRelativeTo(config: RunConfig, baseDir: string): RunConfig {
  const abs = (p: string) => path.resolve(baseDir, p);
  const localArgv = (argv: readonly string[]) => argv.map((a, i) => (isRelativePath(a, i === 0) ? abs(a) : a));
  return {
    ...config,
    ...(config.logsDir !== undefined ? { logsDir: abs(config.logsDir) } : {}),
    ...(config.accounts !== undefined ? { accounts: abs(config.accounts) } : {}),
    ...(config.brokerStateFile !== undefined ? { brokerStateFile: abs(config.brokerStateFile) } : {}),
    ...(config.hosts !== undefined ? { hosts: abs(config.hosts) } : {}),
    ...(config.credentialsDir !== undefined ? { credentialsDir: abs(config.credentialsDir) } : {}),
    sessions: config.sessions.map((s) => ({
      ...s,
      // A remote session's workdir and command are paths on its host: left as written, for the
      // host to resolve (docs/remote.md), never turned into this machine's absolute paths.
      ...(s.workdir !== undefined && !s.remote ? { workdir: abs(s.workdir) } : {}),
      ...(s.resultFile !== undefined ? { resultFile: abs(s.resultFile) } : {}),
      ...(s.command && !s.remote ? { command: localArgv(s.command) } : {}),
      ...(s.resumeCommand && !s.remote ? { resumeCommand: localArgv(s.resumeCommand) } : {}),
    })),
  };
}

/** Reads, validates and resolves a config file; every failure is a ConfigError. */
export async function loadRunConfig(file: string): Promise<RunConfig> {
  const full = path.resolve(file);
  // A syntax error points at its line; an example of the sessions key would only distract from it.
  const whole = (problem: string) =>
    new ConfigError(file, [
      {
        path: "",
        problem,
        example: fileProblem(problem) ? "" : exampleFor(runConfigSchema, ["sessions"]),
      },
    ]);
  const json = await readJsonFile(full, whole, { uniqueKeys: true });
  return resolveRelativeTo(parseRunConfig(json, file), path.dirname(full));
}

/** A file session as `spawnSession` takes it: `probe` → `probeOpts`, `host` → remote; nothing else dropped. */
export function spawnConfigOf(s: FileSession): SpawnConfig {
  const { answers: _answers, expect: _expect, probe, host, remote, ...rest } = s;
  return {
    ...rest,
    ...(probe !== undefined ? { probeOpts: probe } : {}),
    ...(host !== undefined ? { remote: remote ?? true, host } : remote !== undefined ? { remote } : {}),
  };
}

/** The file's conductor-wide settings as `createConductor` options (`probe` → `probeOpts`). */
export function conductorOptionsOf(config: RunConfig, logsDir: string): ConductorOptions {
  const { $schema: _schema, logsDir: _logsDir, sessions: _sessions, probe, ...rest } = config;
  return { ...rest, logsDir, ...(probe !== undefined ? { probeOpts: probe } : {}) };
}
