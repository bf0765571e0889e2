/**
 * The `conductor run config.json` file: schema, friendly errors, path resolution.
 * Every error names the field path, says what is wrong and shows a correct value, because the
 * person reading it is editing JSON by hand. Unknown keys are errors: a typo must not silently
 * fall back to a default.
 */
import path from "node:path";
import { readJsonFile } from "./json-file.js";
import { z } from "zod";

/** Session ids become file names and tmux session names: keep them boring. */
export const SESSION_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const AGENTS = ["codex", "gemini", "claude", "command"] as const;

const ms = z.number().int().min(0);
const positiveMs = z.number().int().min(1);

const probeSchema = z.strictObject({
  stallMs: positiveMs.optional(),
  startupTimeoutMs: positiveMs.optional(),
  inputQuietMs: ms.optional(),
  stallTimeoutMs: positiveMs.optional(),
  inputWaitPatterns: z.array(z.string().min(1)).optional(),
  /** Issue 10: an unanswered question this long → default keys or failure; null waits. */
  inputWaitTimeoutMs: positiveMs.nullable().optional(),
  inputWaitDefaultKeys: z.array(z.string().min(1)).nullable().optional(),
  /** The stall ladder: nudge a stalled agent with keys before the stall timeout restarts it. */
  stallNudgeMs: positiveMs.nullable().optional(),
  stallNudgeKeys: z.array(z.string().min(1)).optional(),
  maxRunMs: positiveMs.nullable().optional(),
});

const restartSchema = z.strictObject({
  backoffInitialMs: ms.optional(),
  backoffMaxMs: ms.optional(),
  backoffFactor: z.number().min(1).optional(),
  /** Restarts are counted within this sliding window; null = over the whole run. */
  windowMs: positiveMs.nullable().optional(),
  /** `resume`: a restart runs the agent's resume command (claude --continue, codex exec resume --last…). */
  mode: z.enum(["fresh", "resume"]).optional(),
  rateLimitWaitMs: ms.optional(),
  rateLimitMaxWaitMs: positiveMs.optional(),
  failureBackoffInitialMs: ms.optional(),
});

const answerSchema = z.strictObject({ match: z.string().min(1), send: z.string() });

const sessionSchema = z.strictObject({
  id: z.string().regex(SESSION_ID_PATTERN),
  agent: z.enum(AGENTS),
  prompt: z.string().optional(),
  command: z.array(z.string().min(1)).min(1).optional(),
  model: z.string().min(1).optional(),
  profile: z.string().min(1).optional(),
  workdir: z.string().min(1).optional(),
  env: z.record(z.string(), z.string()).optional(),
  maxRestarts: ms.optional(),
  answers: z.array(answerSchema).optional(),
  expect: z.enum(["completed", "dead"]).optional(),
  /** Lease an account per run from the accounts file: a provider name, or true for the agent's. */
  account: z.union([z.enum(["codex", "gemini", "claude"]), z.literal(true)]).optional(),
  /** Run on this host of the hosts file (docs/remote.md). */
  host: z.string().min(1).optional(),
  sessionName: z.string().min(1).optional(),
  /** Presets: "bypass" (default) or "prompt" (docs/agents.md "Flags"). */
  approvals: z.enum(["bypass", "prompt"]).optional(),
  /** Presets: the folder is trusted (codex --skip-git-repo-check, gemini --skip-trust). */
  trustWorkdir: z.boolean().optional(),
  /** Presets: the CLI's JSON event stream (default) or its plain text. */
  output: z.enum(["stream", "text"]).optional(),
  extraArgs: z.array(z.string()).optional(),
  /** Where the run's final result is written, relative to this config file. */
  resultFile: z.string().min(1).optional(),
});

export const runConfigSchema = z.strictObject({
  logsDir: z.string().min(1).optional(),
  /** Accounts file (see docs/accounts.md), relative to this config file. */
  accounts: z.string().min(1).optional(),
  /** Shared broker state file (cool-downs, open circuits); default `<accounts>.state.json`. */
  brokerStateFile: z.string().min(1).optional(),
  /** Hosts file for remote sessions (docs/remote.md), relative to this config file. */
  hosts: z.string().min(1).optional(),
  maxRestarts: ms.optional(),
  graceMs: ms.optional(),
  probe: probeSchema.optional(),
  restart: restartSchema.optional(),
  sessions: z.array(sessionSchema).min(1),
});

export type RunConfig = z.infer<typeof runConfigSchema>;
export type SessionConfig = z.infer<typeof sessionSchema>;

export interface ConfigIssue {
  /** e.g. `sessions[2].agent` (empty for the whole file). */
  path: string;
  problem: string;
  example: string;
  /** Which entry the path is in, when that reads better than the path (`codex account "work"`). */
  subject?: string;
}

/** One error type for every config file (run config, accounts, …): where, and each issue with an example. */
export class ConfigError extends Error {
  override readonly name: string = "ConfigError";
  constructor(
    readonly where: string,
    readonly issues: readonly ConfigIssue[],
    what = "config",
  ) {
    super(
      `${where}: invalid ${what}\n` +
        issues
          .map(
            (i) =>
              `  - ${i.subject ? `${i.subject}, ` : ""}${i.path || "(top level)"}: ${i.problem}. Example: ${i.example}`,
          )
          .join("\n"),
    );
  }
}

/** A correct value per field, keyed by the path with indexes and map keys generalised. */
const EXAMPLES: Record<string, string> = {
  "": `{ "sessions": [{ "id": "writer", "agent": "codex", "prompt": "Update the changelog" }] }`,
  logsDir: `"logsDir": "./.conductor-logs"`,
  accounts: `"accounts": "./accounts.json"`,
  brokerStateFile: `"brokerStateFile": "./.conductor-logs/broker-state.json"`,
  hosts: `"hosts": "./hosts.json"`,
  maxRestarts: `"maxRestarts": 3`,
  graceMs: `"graceMs": 10000`,
  probe: `"probe": { "stallMs": 30000, "startupTimeoutMs": 120000 }`,
  "probe.stallMs": `"stallMs": 30000`,
  "probe.startupTimeoutMs": `"startupTimeoutMs": 120000`,
  "probe.inputQuietMs": `"inputQuietMs": 1500`,
  "probe.stallTimeoutMs": `"stallTimeoutMs": 120000`,
  "probe.inputWaitPatterns": `"inputWaitPatterns": ["Press Enter to continue", "\\\\(y/N\\\\)$"]`,
  "probe.inputWaitPatterns[]": `"Press Enter to continue"`,
  "probe.inputWaitTimeoutMs": `"inputWaitTimeoutMs": 600000 (or null to wait for an answer forever)`,
  "probe.inputWaitDefaultKeys": `"inputWaitDefaultKeys": ["Enter"] (or null to fail the run)`,
  "probe.inputWaitDefaultKeys[]": `"Enter"`,
  "probe.stallNudgeMs": `"stallNudgeMs": 30000 (or null for no nudge)`,
  "probe.stallNudgeKeys": `"stallNudgeKeys": ["Esc"]`,
  "probe.stallNudgeKeys[]": `"Esc"`,
  "probe.maxRunMs": `"maxRunMs": 3600000 (or null for no bound)`,
  restart: `"restart": { "backoffInitialMs": 0, "backoffMaxMs": 30000, "backoffFactor": 2 }`,
  "restart.backoffInitialMs": `"backoffInitialMs": 1000`,
  "restart.backoffMaxMs": `"backoffMaxMs": 30000`,
  "restart.backoffFactor": `"backoffFactor": 2`,
  "restart.windowMs": `"windowMs": 600000 (or null to count restarts over the whole run)`,
  "restart.mode": `"mode": "resume" (or "fresh")`,
  "restart.rateLimitWaitMs": `"rateLimitWaitMs": 60000`,
  "restart.rateLimitMaxWaitMs": `"rateLimitMaxWaitMs": 86400000`,
  "restart.failureBackoffInitialMs": `"failureBackoffInitialMs": 1000`,
  sessions: `"sessions": [{ "id": "writer", "agent": "codex", "prompt": "Update the changelog" }]`,
  "sessions[]": `{ "id": "writer", "agent": "command", "command": ["node", "./agents/writer.mjs"] }`,
  "sessions[].id": `"id": "writer-2"`,
  "sessions[].agent": `"agent": "codex" (one of ${AGENTS.map((a) => `"${a}"`).join(", ")})`,
  "sessions[].prompt": `"prompt": "Summarise the open issues"`,
  "sessions[].command": `"command": ["node", "./agents/writer.mjs"]`,
  "sessions[].command[]": `"./agents/writer.mjs"`,
  "sessions[].model": `"model": "gpt-5-codex"`,
  "sessions[].profile": `"profile": "work"`,
  "sessions[].workdir": `"workdir": "./repo"`,
  "sessions[].env": `"env": { "LOG_LEVEL": "debug" }`,
  "sessions[].env.*": `"LOG_LEVEL": "debug"`,
  "sessions[].maxRestarts": `"maxRestarts": 1`,
  "sessions[].answers": `"answers": [{ "match": "\\\\(y/n\\\\)", "send": "y" }]`,
  "sessions[].answers[]": `{ "match": "\\\\(y/n\\\\)", "send": "y" }`,
  "sessions[].answers[].match": `"match": "\\\\(y/n\\\\)"`,
  "sessions[].answers[].send": `"send": "y"`,
  "sessions[].expect": `"expect": "completed" (or "dead")`,
  "sessions[].host": `"host": "build-box" (a host of the hosts file; the session then runs there)`,
  "sessions[].sessionName": `"sessionName": "review-1"`,
  "sessions[].approvals": `"approvals": "bypass" (or "prompt")`,
  "sessions[].trustWorkdir": `"trustWorkdir": true`,
  "sessions[].output": `"output": "stream" (or "text")`,
  "sessions[].extraArgs": `"extraArgs": ["--add-dir", "../shared"]`,
  "sessions[].extraArgs[]": `"--add-dir"`,
  "sessions[].resultFile": `"resultFile": "./out/review.md"`,
  "sessions[].account": `"account": "codex" (a provider of the accounts file, or true for the agent's own)`,
};

/** Keys each object accepts, for "did you mean" on unknown keys. */
const KNOWN_KEYS: Record<string, readonly string[]> = {
  "": Object.keys(runConfigSchema.shape),
  probe: Object.keys(probeSchema.shape),
  restart: Object.keys(restartSchema.shape),
  "sessions[]": Object.keys(sessionSchema.shape),
  "sessions[].answers[]": Object.keys(answerSchema.shape),
};

type Key = string | number;

function formatPath(p: readonly Key[]): string {
  let out = "";
  for (const k of p) {
    if (typeof k === "number") out += `[${k}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(k)) out += out ? `.${k}` : k;
    else out += `[${JSON.stringify(k)}]`;
  }
  return out;
}

function genericPath(p: readonly Key[]): string {
  const parts = p.map((k, i) => (typeof k === "number" ? "[]" : p[i - 1] === "env" ? ".*" : `.${k}`));
  return parts.join("").replace(/^\./, "");
}

function exampleFor(p: readonly Key[]): string {
  for (let n = p.length; n >= 0; n--) {
    const ex = EXAMPLES[genericPath(p.slice(0, n))];
    if (ex) return ex;
  }
  return EXAMPLES[""] as string;
}

const valueAt = (root: unknown, p: readonly Key[]): unknown =>
  p.reduce<unknown>((v, k) => (v !== null && typeof v === "object" ? (v as Record<Key, unknown>)[k] : undefined), root);

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "object") return "an object";
  const s = JSON.stringify(v);
  return `${typeof v} ${s.length > 40 ? `${s.slice(0, 37)}…` : s}`;
}

/** Edit distance, for suggesting the closest known key or value. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j] as number;
      row[j] = Math.min(cur + 1, (row[j - 1] as number) + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length] as number;
}

function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = distance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) [best, bestD] = [c, d];
  }
  return bestD <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

function fromZod(issue: z.core.$ZodIssue, input: unknown): ConfigIssue[] {
  const p = issue.path.filter((k): k is Key => typeof k !== "symbol");
  const got = valueAt(input, p);
  const at = (problem: string, where = p): ConfigIssue => ({
    path: formatPath(where),
    problem,
    example: exampleFor(where),
  });
  switch (issue.code) {
    case "unrecognized_keys":
      return issue.keys.map((key) => {
        const known = KNOWN_KEYS[genericPath(p)] ?? [];
        const guess = closest(key, known);
        const hint = guess ? `did you mean "${guess}"?` : `known keys: ${known.join(", ")}`;
        const example = exampleFor(guess ? [...p, guess] : p);
        return { path: formatPath([...p, key]), problem: `unknown key "${key}" (${hint})`, example };
      });
    case "invalid_type":
      if (got === undefined) return [at("is required")];
      return [at(`expected ${issue.expected === "int" ? "a whole number" : issue.expected}, got ${describe(got)}`)];
    case "invalid_value": {
      const values = issue.values.map((v) => JSON.stringify(v));
      const guess = typeof got === "string" ? closest(got, issue.values.map(String)) : undefined;
      const hint = guess ? ` (did you mean "${guess}"?)` : "";
      return [at(`must be one of ${values.join(", ")}, got ${describe(got)}${hint}`)];
    }
    case "too_small":
    case "too_big": {
      const small = issue.code === "too_small";
      const limit = small ? (issue as { minimum: unknown }).minimum : (issue as { maximum: unknown }).maximum;
      if (issue.origin === "string") return [at(small ? "must not be empty" : `is longer than ${limit} characters`)];
      if (issue.origin === "array") return [at(`needs ${small ? "at least" : "at most"} ${limit} item(s)`)];
      return [at(`must be ${small ? ">=" : "<="} ${limit}, got ${describe(got)}`)];
    }
    case "invalid_format":
      if (genericPath(p) === "sessions[].id") {
        return [
          at(
            `${describe(got)} is not a valid id: start with a letter or digit, then letters, digits, ".", "_" or "-", at most 64 characters`,
          ),
        ];
      }
      return [at(`${describe(got)} has the wrong format`)];
    default:
      return [at(issue.message)];
  }
}

/** Checks zod cannot express per field: cross-field rules, duplicates, regex syntax. */
function crossChecks(cfg: RunConfig): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  const at = (p: Key[], problem: string) => out.push({ path: formatPath(p), problem, example: exampleFor(p) });
  const regex = (p: Key[], src: string) => {
    try {
      new RegExp(src);
    } catch (e) {
      at(
        p,
        `${JSON.stringify(src)} is not a valid regular expression (${(e as Error).message}); remember JSON needs "\\\\" for one backslash`,
      );
    }
  };
  cfg.probe?.inputWaitPatterns?.forEach((src, i) => regex(["probe", "inputWaitPatterns", i], src));
  const r = cfg.restart;
  if (r?.backoffInitialMs !== undefined && r.backoffMaxMs !== undefined && r.backoffMaxMs < r.backoffInitialMs) {
    at(["restart", "backoffMaxMs"], `must be >= backoffInitialMs (${r.backoffInitialMs}), got ${r.backoffMaxMs}`);
  }
  const firstIndex = new Map<string, number>();
  cfg.sessions.forEach((s, i) => {
    const seen = firstIndex.get(s.id);
    if (seen !== undefined)
      at(["sessions", i, "id"], `"${s.id}" is already used by sessions[${seen}]; ids must be unique`);
    else firstIndex.set(s.id, i);
    if (s.agent === "command") {
      if (!s.command) at(["sessions", i, "command"], `is required when "agent" is "command"`);
      if (s.model !== undefined)
        at(["sessions", i, "model"], `is not used by agent "command"; put the flag in "command"`);
    } else {
      if (s.command)
        at(
          ["sessions", i, "command"],
          `is only allowed with "agent": "command" (agent "${s.agent}" builds its own command line); remove it or change the agent`,
        );
      if (s.prompt === undefined) at(["sessions", i, "prompt"], `is required for agent "${s.agent}" ("" is allowed)`);
    }
    if (s.profile !== undefined && s.agent !== "codex")
      at(["sessions", i, "profile"], `only agent "codex" has profiles, this session's agent is "${s.agent}"`);
    for (const key of Object.keys(s.env ?? {})) {
      if (!ENV_NAME.test(key))
        at(
          ["sessions", i, "env", key],
          `${JSON.stringify(key)} is not a valid environment variable name (letters, digits, "_", not starting with a digit)`,
        );
    }
    s.answers?.forEach((a, j) => regex(["sessions", i, "answers", j, "match"], a.match));
  });
  return out;
}

/** Validates parsed JSON. `where` (usually the file path) prefixes the error message. */
export function parseRunConfig(json: unknown, where: string): RunConfig {
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    throw new ConfigError(where, [
      { path: "", problem: `the file must hold a JSON object, got ${describe(json)}`, example: EXAMPLES[""] as string },
    ]);
  }
  const result = runConfigSchema.safeParse(json);
  if (!result.success)
    throw new ConfigError(
      where,
      result.error.issues.flatMap((i) => fromZod(i, json)),
    );
  const issues = crossChecks(result.data);
  if (issues.length > 0) throw new ConfigError(where, issues);
  return result.data;
}

/** Is this command element a path meant relative to the config file? */
function isRelativePath(arg: string, first: boolean): boolean {
  if (path.isAbsolute(arg)) return false;
  return arg.startsWith("./") || arg.startsWith("../") || (first && arg.includes("/"));
}

/**
 * Resolves paths written relative to the config file: `logsDir`, `workdir`, `resultFile`, `command[0]` when it
 * contains a slash, and any `command` element starting with `./` or `../`. Other arguments are
 * left alone (they may be globs, URLs or text that only looks like a path).
 */
export function resolveRelativeTo(config: RunConfig, baseDir: string): RunConfig {
  const abs = (p: string) => path.resolve(baseDir, p);
  return {
    ...config,
    ...(config.logsDir !== undefined ? { logsDir: abs(config.logsDir) } : {}),
    ...(config.accounts !== undefined ? { accounts: abs(config.accounts) } : {}),
    ...(config.brokerStateFile !== undefined ? { brokerStateFile: abs(config.brokerStateFile) } : {}),
    ...(config.hosts !== undefined ? { hosts: abs(config.hosts) } : {}),
    sessions: config.sessions.map((s) => ({
      ...s,
      ...(s.workdir !== undefined ? { workdir: abs(s.workdir) } : {}),
      ...(s.resultFile !== undefined ? { resultFile: abs(s.resultFile) } : {}),
      ...(s.command ? { command: s.command.map((a, i) => (isRelativePath(a, i === 0) ? abs(a) : a)) } : {}),
    })),
  };
}

/** Reads, validates and resolves a config file; every failure is a ConfigError. */
export async function loadRunConfig(file: string): Promise<RunConfig> {
  const full = path.resolve(file);
  const whole = (problem: string) => new ConfigError(file, [{ path: "", problem, example: EXAMPLES[""] as string }]);
  const json = await readJsonFile(full, whole);
  return resolveRelativeTo(parseRunConfig(json, file), path.dirname(full));
}
