/**
 * The hosts file for remote sessions: which hosts exist and how to reach them over SSH.
 * Key-based only (an identity file or an ssh-agent): there is no password field and no prompt,
 * because a supervisor runs unattended. Every error names the host, the field, the problem and
 * shows a correct value.
 */
import { statSync } from "node:fs";
import { homedir } from "node:os";
import { isAbsolute, resolve, dirname } from "node:path";
import { z } from "zod";
import { ConfigError } from "./errors.js";
import { fileProblem, readJsonFileSync } from "./json-file.js";
import { problemIn, unknownKeyProblem, valueAt } from "./schema/issues.js";
import type { HostConfig, HostsConfig } from "../actors/host-config.js";

export const HOST_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

const hostSchema = z.strictObject({
  host: z
    .string()
    .min(1)
    .regex(/^[^\s@/]+$/, "must be a host name or IP address, without user@ or spaces"),
  port: z.number().int().min(1).max(65535).default(22),
  user: z
    .string()
    .min(1)
    .regex(/^[^\s@:]+$/, "must be a user name, without spaces, '@' or ':'"),
  identityFile: z.string().min(1).optional(),
  agent: z.union([z.literal(true), z.string().min(1)]).optional(),
  knownHosts: z.string().min(1).optional(),
  multiplexer: z.enum(["tmux", "psmux"]).default("tmux"),
  strictHostKeyChecking: z.boolean().default(true),
});

const fileSchema = z.strictObject({ hosts: z.record(z.string(), hostSchema) });

// The shape the ssh actor connects with: defined beside it (actors/), loaded and checked here.
export type { HostConfig, HostsConfig };

const EXAMPLES: Record<string, string> = {
  host: `"host": "10.0.0.12"`,
  port: `"port": 22`,
  user: `"user": "deploy"`,
  identityFile: `"identityFile": "~/.ssh/id_ed25519"`,
  agent: `"agent": true (uses $SSH_AUTH_SOCK) or "agent": "/run/user/1000/ssh-agent.sock"`,
  knownHosts: `"knownHosts": "~/.ssh/known_hosts"`,
  multiplexer: `"multiplexer": "tmux" (or "psmux")`,
  strictHostKeyChecking: `"strictHostKeyChecking": true`,
  "": `{ "hosts": { "build-box": { "host": "10.0.0.12", "user": "deploy", "identityFile": "~/.ssh/id_ed25519" } } }`,
};

/**
 * A hosts file's problem: a `ConfigError` (code INVALID_CONFIG) as the accounts and run-config files'
 * are, with one issue, naming the host and field. Its message keeps the hosts file's own wording.
 */
export class HostsConfigError extends ConfigError {
  override readonly name: string = "HostsConfigError";
  constructor(
    readonly source: string,
    /** The host alias, when the problem is inside one host's entry. */
    readonly host: string | undefined,
    field: string | undefined,
    readonly problem: string,
  ) {
    // A file that cannot be read has no field to point at, and an example of its content would not help.
    // An example of the content after "not valid JSON" still shows its shape; never for an unreadable file or a repeat.
    const noExample = fileProblem(problem) && !problem.startsWith("not valid JSON");
    const example = noExample ? "" : (EXAMPLES[field ?? ""] ?? (EXAMPLES[""] as string));
    super(
      source,
      [{ path: field ?? "", problem, example, ...(host ? { subject: `host "${host}"` } : {}) }],
      "hosts file",
    );
    const where = host
      ? `host "${host}"${field ? `, field "${field}"` : ""}`
      : field
        ? `field "${field}"`
        : "top level";
    this.message = example ? `${source}: ${where}: ${problem}. Example: ${example}` : `${source}: ${problem}`;
  }
}

export interface LoadHostsOptions {
  /** For `~` and relative paths (default: os.homedir(), the hosts file's directory). */
  home?: string;
  /** `agent: true` reads SSH_AUTH_SOCK from here (default process.env). */
  env?: Readonly<Record<string, string | undefined>>;
  /** Told once per host that opted out of host key checking. */
  warn?: (message: string) => void;
}

export function loadHostsFile(path: string, opts: LoadHostsOptions = {}): HostsConfig {
  const json = readJsonFileSync(path, (problem) => new HostsConfigError(path, undefined, undefined, problem), {
    uniqueKeys: true,
  });
  return parseHostsConfig(json, { ...opts, source: path, baseDir: dirname(resolve(path)) });
}

export function parseHostsConfig(
  json: unknown,
  opts: LoadHostsOptions & { source?: string; baseDir?: string } = {},
): HostsConfig {
  const source = opts.source ?? "hosts config";
  // A bare map of hosts ({ "box": { ... } }) is the commonest slip: say where it belongs.
  if (json !== null && typeof json === "object" && !Array.isArray(json) && !("hosts" in json)) {
    const keys = Object.keys(json);
    const problem =
      keys.length > 0
        ? `the hosts go under a top-level "hosts" key, e.g. { "hosts": { ${JSON.stringify(keys[0])}: { ... } } } (got the keys ${keys
            .slice(0, 5)
            .map((k) => JSON.stringify(k))
            .join(", ")} at the top level)`
        : `is required (an object with one entry per host)`;
    throw new HostsConfigError(source, undefined, "hosts", problem);
  }
  const res = fileSchema.safeParse(json);
  if (!res.success) {
    const [issue] = res.error.issues;
    if (!issue) throw new HostsConfigError(source, undefined, undefined, res.error.message);
    const path = issue.path.filter((k): k is string | number => typeof k !== "symbol").map(String);
    const host = path[0] === "hosts" ? path[1] : undefined;
    let field = path[0] === "hosts" ? path[2] : path[0];
    let problem = issue.message;
    if (issue.code === "unrecognized_keys") {
      const key = issue.keys[0] ?? "";
      field = key;
      problem = /pass(word|phrase)/i.test(key)
        ? `"${key}" is not supported: remote sessions never use passwords; use "identityFile" or "agent"`
        : unknownKeyProblem(key, Object.keys(host ? hostSchema.shape : fileSchema.shape), "field");
      if (/pass(word|phrase)/i.test(key)) field = "identityFile";
    } else if (issue.code === "invalid_type" && valueAt(json, path) === undefined) problem = "is required";
    else problem = problemIn(issue, fileSchema, json); // the run config's words, not zod's ("Too small: …")
    throw new HostsConfigError(source, host, field, problem);
  }
  const home = opts.home ?? homedir();
  const base = opts.baseDir ?? process.cwd();
  const expand = (p: string) =>
    p === "~" ? home : p.startsWith("~/") ? resolve(home, p.slice(2)) : isAbsolute(p) ? p : resolve(base, p);
  const env = opts.env ?? process.env;
  const hosts: Record<string, HostConfig> = {};
  for (const [name, h] of Object.entries(res.data.hosts)) {
    if (!HOST_NAME_PATTERN.test(name)) {
      throw new HostsConfigError(
        source,
        name,
        undefined,
        "host names may only use letters, digits, '.', '_' and '-' (at most 64), e.g. \"build-box\"",
      );
    }
    if (h.identityFile && h.agent !== undefined) {
      throw new HostsConfigError(source, name, "identityFile", `give either "identityFile" or "agent", not both`);
    }
    if (!h.identityFile && h.agent === undefined) {
      throw new HostsConfigError(
        source,
        name,
        "identityFile",
        `no way to authenticate: give "identityFile" (a private key) or "agent" (passwords are never used)`,
      );
    }
    let agent: string | undefined;
    if (h.agent === true) {
      agent = env.SSH_AUTH_SOCK;
      if (!agent)
        throw new HostsConfigError(
          source,
          name,
          "agent",
          `"agent": true but SSH_AUTH_SOCK is not set; start ssh-agent or give the socket path`,
        );
    } else if (typeof h.agent === "string") agent = expand(h.agent);
    if (agent !== undefined) checkAgentSocket(source, name, agent, h.agent === true);
    if (!h.strictHostKeyChecking) {
      opts.warn?.(
        `WARNING: host "${name}" (${h.host}:${h.port}) has strictHostKeyChecking: false; ANY host key will be accepted, so anyone on the path can impersonate it`,
      );
    }
    hosts[name] = {
      name,
      host: h.host,
      port: h.port,
      user: h.user,
      ...(h.identityFile ? { identityFile: expand(h.identityFile) } : {}),
      ...(agent ? { agent } : {}),
      knownHosts: expand(h.knownHosts ?? "~/.ssh/known_hosts"),
      multiplexer: h.multiplexer,
      strictHostKeyChecking: h.strictHostKeyChecking,
    };
  }
  return { hosts };
}

/**
 * The ssh-agent socket must be there now: else every connect fails as "authentication refused ...
 * check the key is in authorized_keys", far from the typo or the agent that is not running.
 */
function checkAgentSocket(source: string, name: string, path: string, fromEnv: boolean): void {
  const where = fromEnv ? `SSH_AUTH_SOCK (${path})` : path;
  let socket: boolean;
  try {
    socket = statSync(path).isSocket();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    throw new HostsConfigError(
      source,
      name,
      "agent",
      `the ssh-agent socket ${where} cannot be used (${code}): start ssh-agent (eval "$(ssh-agent)"; ssh-add) and give the socket it prints, or use "identityFile"`,
    );
  }
  if (!socket)
    throw new HostsConfigError(
      source,
      name,
      "agent",
      `${where} is not a socket, so no ssh-agent listens there: give the agent's socket (echo $SSH_AUTH_SOCK where it runs), or use "identityFile"`,
    );
}
