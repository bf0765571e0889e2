/**
 * One session: `spawnSession(config)` and each entry of the run-config file's `sessions`.
 * The file's entries are the same shape without functions, plus `answers` and `expect`.
 */
import { z } from "zod";
import { PRESET_AGENTS, SUPPORTED_AGENTS } from "../launcher.js";
import { judgeAs, leaseWaitMs, maxRestarts, probeOptsSchema, probeSchema, restartSchema } from "./policy.js";
import { closest } from "./issues.js";
import { companionChecks } from "./session-companions.js";
import {
  execText,
  argString,
  argv,
  doc,
  envRecord,
  fn,
  nonEmpty,
  positiveTimerMs,
  regexSource,
  sessionId,
} from "./primitives.js";

export const AGENTS = SUPPORTED_AGENTS;
const agentList = AGENTS.join(", ");

/** The seed's wording, kept: code and people grep for it. */
export function unknownAgentMessage(agent: unknown): string {
  const shown = typeof agent === "string" ? agent.slice(0, 60) : (JSON.stringify(agent) ?? String(agent)).slice(0, 60);
  const guess = typeof agent === "string" ? closest(agent, AGENTS) : undefined;
  return `Unknown agent: ${shown} (expected one of ${agentList})${guess ? `; did you mean "${guess}"?` : ""}`;
}

const agent = () =>
  doc(
    z.enum(AGENTS, {
      error: (iss) => (iss.input === undefined ? "agent is required" : unknownAgentMessage(iss.input)),
    }),
    {
      description: `\`codex\`, \`gemini\`, \`claude\` (presets building an argv) or \`command\` (your own \`command\` argv)`,
      example: "codex",
      label: "agent",
    },
  );

const MCP_NAME = /^[A-Za-z0-9_-]+$/;
const stdioServer = z.strictObject({
  command: doc(nonEmpty(), { description: "the MCP server's program (the agent starts it)", example: "npx" }),
  args: doc(z.array(argString()), { description: "its arguments", example: ["-y", "@acme/files-mcp"] }).optional(),
  env: doc(envRecord(), { description: "its environment", example: { ROOT: "./repo" } }).optional(),
});
const urlServer = z.strictObject({
  url: doc(
    // One check, one message (a url() and a refine of its scheme both spoke for "not a url").
    z.url({ protocol: /^https?$/i, error: "must be an http:// or https:// URL" }),
    { description: "an MCP server the agent connects to (Streamable HTTP)", example: "http://127.0.0.1:8931/mcp" },
  ),
});
const mcpServer = z.union([stdioServer, urlServer]);

/** Fields every session input has, files and API alike. */
const commonShape = {
  id: doc(sessionId(), {
    description: "unique per conductor; becomes `<logsDir>/<id>.out.log`, the tmux session name and mesh agent id",
    example: "review-1",
    label: "session id",
  }),
  agent: agent(),
  prompt: doc(execText(), {
    description: 'the task; required for presets (`""` allowed); for `command` it is passed as env `CONDUCTOR_PROMPT`',
    example: "Summarise the open issues",
  }).optional(),
  command: doc(argv(), {
    description: "argv of the `command` agent (never a shell string; every element a string)",
    example: ["node", "./agents/writer.mjs"],
  }).optional(),
  resumeCommand: doc(argv(), {
    description:
      "argv of the `command` agent's restarts under `restart.mode: \"resume\"`: a TUI's own resume, so a restart goes on with its conversation (docs/agents.md)",
    example: ["gemini", "--resume", "latest"],
  }).optional(),
  model: doc(nonEmpty(), { description: "`--model` for a preset agent", example: "gpt-5-codex" }).optional(),
  profile: doc(nonEmpty(), {
    description: "codex only: `--profile` and env `CODEX_PROFILE`",
    example: "work",
  }).optional(),
  workdir: doc(nonEmpty(), {
    description:
      "the child's working directory (relative: to this file; a remote session's is on its host, relative to the remote home, docs/remote.md)",
    example: "./repo",
  }).optional(),
  env: doc(envRecord(), {
    description: "extra child environment (values never logged)",
    example: { LOG_LEVEL: "debug" },
  }).optional(),
  resultFile: doc(nonEmpty(), {
    description:
      "where the agent writes its final message (codex `--output-last-message`; env `CONDUCTOR_RESULT_FILE`)",
    example: "./out/result.md",
  }).optional(),
  mcpServers: doc(z.record(z.string().regex(MCP_NAME, "must match [A-Za-z0-9_-]+"), mcpServer), {
    description: "MCP servers the agent starts (codex, claude)",
    example: { files: { command: "npx", args: ["-y", "@acme/files-mcp"] } },
  }).optional(),
  approvals: doc(z.enum(["bypass", "prompt"]), {
    description:
      "presets: `bypass` runs every tool without asking (the seed's behaviour; run it in a sandbox) or `prompt` (the CLI's own rules)",
    example: "prompt",
    default: "bypass",
  }).optional(),
  trustWorkdir: doc(z.boolean(), {
    description: "presets: the caller trusts `workdir` (codex --skip-git-repo-check, gemini --skip-trust)",
    example: true,
    default: false,
  }).optional(),
  output: doc(z.enum(["stream", "text"]), {
    description: "presets: the CLI's JSON event stream (result captured) or its plain text",
    example: "text",
    default: "stream",
  }).optional(),
  extraArgs: doc(z.array(argString()), {
    description: "presets: flags after the preset's own, before the prompt",
    example: ["--add-dir", "../shared"],
  }).optional(),
  resumePrompt: doc(execText(), {
    description: "presets: the prompt sent when a run resumes the previous conversation",
    example: "Continue where you left off.",
  }).optional(),
  bin: doc(
    nonEmpty().refine((v) => !v.includes("\0"), "must not contain a NUL character"),
    {
      description: "presets: binary to run instead of the agent's name (a wrapper on PATH or a path)",
      example: "./bin/codex-wrapper",
    },
  ).optional(),
  judgeAs: judgeAs().optional(),
  maxRestarts: maxRestarts().optional(),
  restart: restartSchema.optional(),
  leaseWaitMs: leaseWaitMs().optional(),
  account: doc(z.union([z.enum(PRESET_AGENTS), z.literal(true)]), {
    description: "lease an account for each run: a provider of the accounts file, or `true` for the agent's own",
    example: "codex",
  }).optional(),
  remote: doc(z.boolean(), {
    description: "run on `host` inside a private tmux server there (docs/remote.md)",
    example: true,
  }).optional(),
  host: doc(nonEmpty(), { description: "a host of the hosts file", example: "build-box" }).optional(),
  sessionName: doc(nonEmpty(), {
    description: "remote: tmux session to create (default: the id), or with `attach` to watch",
    example: "review-1",
  }).optional(),
  paneTarget: doc(nonEmpty(), {
    description: "remote, with `attach`: the pane to watch",
    example: "review:0.1",
  }).optional(),
  attach: doc(z.boolean(), {
    description:
      "remote: watch an existing tmux session instead of creating one (it is never killed; its program's end is final, never restarted)",
    example: true,
  }).optional(),
  completionToken: doc(nonEmpty(), {
    description: "remote: output line that means the agent is done",
    example: "__TRIFLUX_DONE__",
    default: "__TRIFLUX_DONE__",
  }).optional(),
  hostDownTimeoutMs: doc(positiveTimerMs(), {
    description: "remote: how long a session waits for its host to come back before it fails",
    example: 60_000,
    default: 60_000,
  }).optional(),
};

type Common = z.infer<z.ZodObject<typeof commonShape>>;

/** Rules across fields, the same for files and the API. */
function crossChecks(s: Common & { remote?: boolean }, ctx: z.RefinementCtx, hostImpliesRemote: boolean): void {
  const at = (path: string, message: string) => ctx.addIssue({ code: "custom", path: [path], message });
  if (s.agent === "command") {
    if (s.command === undefined) at("command", 'is required when "agent" is "command"');
    for (const key of ["approvals", "trustWorkdir", "output", "extraArgs", "resumePrompt", "bin"] as const) {
      if (s[key] !== undefined) at(key, `is a preset option; agent "command" takes its flags in "command"`);
    }
    if (s.model !== undefined) at("model", 'is not used by agent "command"; put the flag in "command"');
    if (s.mcpServers !== undefined) at("mcpServers", 'is not used by agent "command"; put it in "command"');
  } else {
    if (s.command !== undefined)
      at(
        "command",
        `is only allowed with agent "command" (agent "${s.agent}" builds its own command line); remove it or change the agent`,
      );
    if (s.resumeCommand !== undefined)
      at(
        "resumeCommand",
        `is only allowed with agent "command" (agent "${s.agent}" resumes with its own flags and "resumePrompt", docs/agents.md); remove it`,
      );
    if (s.prompt === undefined) at("prompt", `is required for agent "${s.agent}" ("" is allowed)`);
  }
  if (s.profile !== undefined && s.agent !== "codex")
    at("profile", `only agent "codex" has profiles, this session's agent is "${s.agent}"`);
  if (s.mcpServers !== undefined && s.agent === "gemini")
    at("mcpServers", 'gemini reads MCP servers from ~/.gemini/settings.json ("mcpServers"), not from its command line');
  const remote = s.remote === true || (hostImpliesRemote && s.host !== undefined);
  if (s.remote === true && s.host === undefined) at("host", "host is required for remote sessions");
  if (!remote && s.host !== undefined) at("host", "is only used with remote: true (add it, or remove host)");
  if (!remote) {
    for (const key of ["sessionName", "paneTarget", "attach", "completionToken", "hostDownTimeoutMs"] as const) {
      if (s[key] !== undefined) at(key, "is only used by remote sessions (remote: true, host: ...)");
    }
  }
  if (s.paneTarget !== undefined && s.attach !== true) at("paneTarget", "is only used with attach: true");
}

export const spawnConfigSchema = z
  .strictObject({
    ...commonShape,
    probeOpts: probeOptsSchema.optional(),
    onCompleted: doc(fn<(info: { sessionId: string }) => void>(), {
      description: "called once when the session completes",
      example: "({ sessionId }) => console.log(sessionId, 'done')",
    }).optional(),
  })
  .superRefine((s, ctx) => {
    crossChecks(s, ctx, false);
    companionChecks(s, "probeOpts", s.probeOpts, ctx);
  })
  .meta({
    description: "spawnSession(config)",
    examples: [{ id: "review-1", agent: "codex", prompt: "Review src/ for races" }],
  });

const answer = z.strictObject({
  match: doc(regexSource(), { description: "regex tested on the question line", example: "\\(y/n\\)" }),
  send: doc(z.string(), { description: "the answer typed (followed by Enter)", example: "y" }),
});

/** An entry of the run-config file's `sessions`: `host` alone makes it remote. */
export const fileSessionSchema = z
  .strictObject({
    ...commonShape,
    probe: probeSchema.optional(),
    answers: doc(z.array(answer), {
      description:
        "answers to the CLI's questions (a trust dialog, an approval, a prompt; never its composer, where the line is the agent's): the first whose `match` fits the question line is sent, at most 3 times to the same question of a run",
      example: [{ match: "\\(y/n\\)", send: "y" }],
    }).optional(),
    expect: doc(z.enum(["completed", "dead"]), {
      description: "how the session should end for the run to exit 0",
      example: "completed",
      default: "completed",
    }).optional(),
  })
  .superRefine((s, ctx) => {
    crossChecks(s, ctx, true);
    companionChecks(s, "probe", s.probe, ctx);
  })
  .meta({
    description: "one session of the run",
    examples: [{ id: "writer", agent: "command", command: ["node", "./agents/writer.mjs"] }],
  });

export type SpawnConfigInput = z.input<typeof spawnConfigSchema>;
export type FileSession = z.infer<typeof fileSessionSchema>;
