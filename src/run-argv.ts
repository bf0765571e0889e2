/**
 * What a run's argv needs that the session's static spec cannot know, applied by wrapping the local
 * child runner just before the spawn:
 * - a profile-mode lease (codex): `--profile <p>` as well as the `CODEX_PROFILE` its environment
 *   already carries (issue 14: codex 0.171 layers `$CODEX_HOME/<p>.config.toml` only with the flag);
 * - a resumed run when the previous run's stream named the agent's session: claude `--resume <id>`
 *   instead of `--continue`, codex `exec resume <id>` instead of `--last` (both `--continue` and
 *   `--last` pick the most recent conversation of the directory, which may be another session's).
 *   gemini's `--resume` takes only `latest` or an index, so it stays `latest`.
 * The leased environment stays out of snapshots (envRef); only the flag's value reaches the argv.
 */
import type { ChildRunner } from "../actors/pty-process.js";
import type { LeasedEnv } from "../actors/pty-spawn.js";

interface PresetRun {
  agent: string;
  resumeArgv: readonly string[] | undefined;
}

export interface RunArgvDeps {
  envFor?: (ref: string) => LeasedEnv | undefined;
  /** The agent's own session id from the last run's stream (result capture). */
  agentSessionIdOf: (sessionId: string) => string | null;
  log: (event: string, data: Record<string, unknown>) => void;
}

export function createRunArgv(deps: RunArgvDeps) {
  const runs = new Map<string, PresetRun>();
  /** The argv each session's latest run was given, as adjusted: what its `session.spawn` line says it ran. */
  const ran = new Map<string, string[]>();

  function adjust(sessionId: string, argv: readonly string[], envRef: string | undefined): string[] {
    const run = runs.get(sessionId);
    const out = [...argv];
    if (!run) return out;
    const changes: string[] = [];
    const profile = envRef ? deps.envFor?.(envRef)?.set.CODEX_PROFILE : undefined;
    if (run.agent === "codex" && profile) {
      withProfile(out, profile);
      changes.push("profile");
    }
    const resuming = run.resumeArgv !== undefined && sameArgv(argv, run.resumeArgv);
    const id = resuming ? deps.agentSessionIdOf(sessionId) : null;
    if (id && resumeById(run.agent, out, id)) changes.push("resume_id");
    if (changes.length > 0) deps.log("session.run_argv", { session: sessionId, changes });
    ran.set(sessionId, out);
    return out;
  }

  return {
    register(sessionId: string, run: PresetRun): void {
      runs.set(sessionId, run);
    },
    forget(sessionId: string): void {
      runs.delete(sessionId);
      ran.delete(sessionId);
    },
    /** The argv the session's latest run was started with (a preset's, adjusted), if any. */
    ranArgv: (sessionId: string): string[] | undefined => ran.get(sessionId),
    /** The local runner, with each run's argv adjusted. */
    wrap(runner: ChildRunner): ChildRunner {
      return (args) => {
        const { spec } = args.input;
        const argv = adjust(args.input.sessionId, spec.argv, spec.envRef);
        return runner({ ...args, input: { ...args.input, spec: { ...spec, argv } } });
      };
    },
    adjust,
  };
}

/** `codex exec [resume] …`: the profile goes right after `exec`, replacing one the options set. */
function withProfile(argv: string[], profile: string): void {
  const exec = argv.indexOf("exec");
  if (exec < 0) return;
  if (argv[exec + 1] === "--profile") argv.splice(exec + 1, 2);
  argv.splice(exec + 1, 0, "--profile", profile);
}

function resumeById(agent: string, argv: string[], id: string): boolean {
  const end = argv.indexOf("--");
  const flags = end < 0 ? argv.length : end;
  if (agent === "claude") {
    const at = argv.indexOf("--continue");
    if (at < 0 || at > flags) return false;
    argv.splice(at, 1, "--resume", id);
    return true;
  }
  if (agent === "codex") {
    const at = argv.indexOf("resume");
    if (at < 0 || argv[at + 1] !== "--last") return false;
    argv.splice(at + 1, 1, id);
    return true;
  }
  return false;
}

function sameArgv(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
