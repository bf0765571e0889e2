/**
 * gemini's own telemetry as a probe: a local session judged as gemini writes its OpenTelemetry
 * records into a file of the conductor's logs folder, which the telemetry probe reads while each run
 * lasts (actors/agent-telemetry.ts). It is the one place a gemini TUI retrying a 429 says so: the
 * screen shows only `Thinking… (esc to cancel, 25s)`, the title `✦  Working…`, and its home gets
 * nothing but the prompt (gemini-cli 0.61, live gemini/tui-rate-429).
 *
 * gemini takes its telemetry settings from argv, then env, then settings.json, so the conductor sets:
 * GEMINI_TELEMETRY_ENABLED=true, GEMINI_TELEMETRY_TARGET=local (nothing leaves the machine),
 * GEMINI_TELEMETRY_OUTFILE=<file>, GEMINI_TELEMETRY_LOG_PROMPTS=false (no prompt text in its events),
 * and OTEL_NODE_RESOURCE_DETECTORS=env,host. The last keeps the prompt out of the file: LOG_PROMPTS
 * does not cover the resource every record carries, and OpenTelemetry's NodeSDK (which gemini 0.61
 * builds without detectors of its own, so it takes them from this variable) adds by default the
 * process detector, whose `process.command_args` is the whole argv, `-p <prompt>` or `-i <prompt>`
 * included (a field review: the prompt 17 to 1040 times in a run's file). env and host are the
 * default's other two; the probe reads no resource attribute. Checked with the real gemini 0.61: no
 * `process.*` attribute, no prompt; a session env that sets the variable itself is obeyed. Removing
 * or redacting the file instead would lose the records the probe reads while the run lasts; it is
 * kept after the session, as the output logs are, and private like them (0600, agent-telemetry.ts).
 * Left alone: telemetry the user sends elsewhere (an OTLP endpoint or target gcp, in env or in the
 * user settings.json: an outfile would silently replace that exporter), and an explicit
 * GEMINI_TELEMETRY_ENABLED=false (the opt-out). A user's own outfile is read where gemini writes it,
 * and never emptied: only the conductor's own file is (`owned`).
 * A remote session's file is on its host, in /tmp, a file of its own for each run (remoteTelemetryRunFile).
 */
import { createHash, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";

type Env = Readonly<Record<string, string | undefined>>;

export interface TelemetryPlan {
  /** Added to the child's environment (empty when the user's own settings already write a file). */
  env: Record<string, string>;
  /** The file the probe reads. */
  file: string;
  /**
   * The conductor made the file for the session (the probe may empty it once it is read past its
   * bound); false for the user's own outfile, which is only ever read.
   */
  owned: boolean;
}

const REMOTE_TELEMETRY_PREFIX = "/tmp/statechart-conductor-telemetry-";

/**
 * A remote session's telemetry "file" as its spec and env name it: a secret of this process, never
 * sent to the host. Each run writes a file of its own, `remoteTelemetryRunFile` of it, which the run's
 * pane gets in its environment and the run's probe reads (actors/remote-telemetry.ts).
 */
export const remoteTelemetryFile = (): string => `${REMOTE_TELEMETRY_PREFIX}${randomBytes(12).toString("hex")}.json`;

/**
 * The file of one run on the host: /tmp, which every POSIX host has (the pane's environment is
 * passed literally, so no $HOME), under a name derived from the session's secret and the run: no
 * other user can tell it ahead and plant a file or a link there first (the probe sends it on stdin,
 * never on a command line), and a run never finds an earlier run's file.
 */
export const remoteTelemetryRunFile = (sessionFile: string, generation: number): string =>
  `${REMOTE_TELEMETRY_PREFIX}${createHash("sha256").update(`${sessionFile}#${generation}`).digest("hex").slice(0, 32)}.json`;

const set = (v: unknown): v is string => typeof v === "string" && v !== "";

/** The `telemetry` block of the user's gemini settings.json, or {} (missing, unreadable, not JSON). */
function userTelemetrySettings(env: Env): Record<string, unknown> {
  const home = set(env.GEMINI_CLI_HOME) ? env.GEMINI_CLI_HOME : env.HOME || homedir();
  try {
    const settings = JSON.parse(readFileSync(join(home, ".gemini", "settings.json"), "utf8")) as {
      telemetry?: unknown;
    };
    return typeof settings.telemetry === "object" && settings.telemetry !== null
      ? (settings.telemetry as Record<string, unknown>)
      : {};
  } catch {
    return {};
  }
}

/**
 * The telemetry a session judged as `judgedAs` gets, or null (not gemini, opted out, or telemetry
 * that goes elsewhere). `env`: the child's environment as it will run; `file`: the conductor's file
 * for this session; `cwd`: where a relative outfile of the user's is resolved.
 */
export function geminiTelemetry(judgedAs: string, env: Env, file: string, cwd?: string): TelemetryPlan | null {
  if (judgedAs !== "gemini") return null;
  return plan(env, userTelemetrySettings(env), file, cwd ?? process.cwd());
}

/**
 * The same for a session on a remote host, whose CLI writes `file` there (actors/remote-telemetry.ts
 * reads it over SSH). `env` is what the session is given (a remote run inherits nothing of ours). The
 * host's settings.json is not read: a user whose gemini there sends its telemetry elsewhere says so
 * in the session's env (an endpoint, target gcp, or GEMINI_TELEMETRY_ENABLED=false). A user's own
 * outfile there is left alone: the remote probe makes its file private, empties it and removes it
 * at the run's end, which it must not do to a file of the user's.
 */
export function remoteGeminiTelemetry(judgedAs: string, env: Env, file: string): TelemetryPlan | null {
  if (judgedAs !== "gemini") return null;
  return plan(env, {}, file, null);
}

/** `cwd` null: a user's own outfile is not read (a remote session's). */
function plan(env: Env, settings: Record<string, unknown>, file: string, cwd: string | null): TelemetryPlan | null {
  if (/^(?:false|0)$/i.test(env.GEMINI_TELEMETRY_ENABLED ?? "")) return null;
  const elsewhere =
    set(env.GEMINI_TELEMETRY_OTLP_ENDPOINT) ||
    set(env.OTEL_EXPORTER_OTLP_ENDPOINT) ||
    env.GEMINI_TELEMETRY_TARGET === "gcp" ||
    set(settings.otlpEndpoint) ||
    settings.target === "gcp";
  const own = set(env.GEMINI_TELEMETRY_OUTFILE) ? env.GEMINI_TELEMETRY_OUTFILE : settings.outfile;
  if (set(own)) return cwd === null ? null : { env: {}, file: isAbsolute(own) ? own : resolve(cwd, own), owned: false };
  if (elsewhere) return null;
  return {
    env: {
      GEMINI_TELEMETRY_ENABLED: "true",
      GEMINI_TELEMETRY_TARGET: "local",
      GEMINI_TELEMETRY_OUTFILE: file,
      GEMINI_TELEMETRY_LOG_PROMPTS: "false",
      OTEL_NODE_RESOURCE_DETECTORS: "env,host",
    },
    file,
    owned: true,
  };
}
