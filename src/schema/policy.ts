/**
 * Probe and restart options: one shape for `createConductor`, `spawnSession` and the run-config
 * file (where it is spelled `probe`). The seed's names (`intervalMs`, `l1ThresholdMs`,
 * `l3ThresholdMs`, `enableL2`) are accepted as aliases; giving both spellings with different values is an error.
 */
import { z } from "zod";
import { AGENT_NAMES } from "../../machines/providers.js";
import { count, doc, fn, keySequence, positiveTimerMs, regexSource, timerMs } from "./primitives.js";

/** Seed alias → our name. */
export const PROBE_ALIASES = {
  l1ThresholdMs: "stallMs",
  l3ThresholdMs: "startupTimeoutMs",
  enableL2: "mcpHeartbeat",
  l2ThresholdMs: "mcpHeartbeatIntervalMs",
  probeTimeoutMs: "mcpHeartbeatTimeoutMs",
} as const;

const probeShape = {
  stallMs: doc(positiveTimerMs(), {
    description:
      "L1: no progress this long while `healthy` → `stalled` (timer reset by new screen content, exact: a spinner's turns and a blinking mark are none; after a retry the CLI announces in its stream, counted from the end of the wait it names)",
    example: 30_000,
    default: 30_000,
  }).optional(),
  startupTimeoutMs: doc(positiveTimerMs(), {
    description: "L3: no first output this long after a start → failure",
    example: 120_000,
    default: 120_000,
  }).optional(),
  inputQuietMs: doc(timerMs(), {
    description: "L1.5: output quiet this long → read the rendered screen for a question",
    example: 1_500,
    default: 1_500,
  }).optional(),
  busyStallMs: doc(positiveTimerMs().nullable(), {
    description:
      "L1 for a busy TUI: only its busy line's counter changed this long (`Working (14m 3s …)` on a hung turn) → `stalled`; `null`: a ticking counter is always progress",
    example: 900_000,
    default: 900_000,
  }).optional(),
  stallTimeoutMs: doc(positiveTimerMs().nullable(), {
    description:
      "`stalled` this long → failure and restart (a headless one-shot only stays stalled: docs/agents.md); `null` stays stalled (as the seed)",
    example: 120_000,
    default: 120_000,
  }).optional(),
  inputWaitPatterns: doc(z.array(regexSource()), {
    description: "extra input-wait regexes (sources, case-insensitive) on top of the built-in question patterns",
    example: ["Press Enter to continue"],
    default: [],
  }).optional(),
  inputWaitTimeoutMs: doc(positiveTimerMs().nullable(), {
    description:
      "an unanswered question this long → `inputWaitDefaultKeys`, or failure; `null` waits forever. A TUI idle at its composer (kind `composer`) is its user's turn, never timed out (bound a run with `maxRunMs`)",
    example: 600_000,
    default: 600_000,
  }).optional(),
  inputWaitDefaultKeys: doc(keySequence().nullable(), {
    description: "keys that answer a timed-out question once; `null`: fail with `input_wait_timeout`",
    example: ["Enter"],
    default: null,
  }).optional(),
  stallNudgeMs: doc(positiveTimerMs().nullable(), {
    description:
      "the stall ladder: `stalled` this long → write `stallNudgeKeys` before the stall timeout; `null`: no nudge",
    example: 30_000,
    default: null,
  }).optional(),
  stallNudgeKeys: doc(keySequence(), {
    description: "keys written to nudge a stalled agent",
    example: ["Esc"],
    default: ["Enter"],
  }).optional(),
  maxRunMs: doc(positiveTimerMs().nullable(), {
    description:
      "one run (spawn to exit) may last at most this long, then fails `run_timeout` (a headless one-shot ends `dead` unless `restart.mode` is `resume`: docs/agents.md); `null`: unbounded",
    example: 3_600_000,
    default: null,
  }).optional(),
  intervalMs: doc(timerMs(), {
    description: "seed's probe polling interval",
    note: "accepted and unused: probes here are events, a verdict is never late by an interval",
    example: 5_000,
  }).optional(),
  l1ThresholdMs: doc(positiveTimerMs(), {
    description: "seed alias of `stallMs`",
    example: 30_000,
  }).optional(),
  l3ThresholdMs: doc(positiveTimerMs(), {
    description: "seed alias of `startupTimeoutMs`",
    example: 120_000,
  }).optional(),
  mcpHeartbeat: doc(z.boolean(), {
    description:
      "L2: heartbeat the session's `mcpServers` while the agent runs (a stdio server: running in the agent's " +
      "tree and not stopped; a URL server: answers a JSON-RPC `ping`). `health.l2` is ok/fail, `skip` without it; " +
      "a failing heartbeat is reported (`onProbe`, event `probe`), never acted on (docs/seed-compatibility.md)",
    example: true,
    default: false,
  }).optional(),
  enableL2: doc(z.boolean(), {
    description: "seed alias of `mcpHeartbeat`",
    example: false,
  }).optional(),
  mcpHeartbeatIntervalMs: doc(positiveTimerMs(), {
    description: "L2: one heartbeat round this often while the agent runs (the first one interval after its spawn)",
    example: 30_000,
    default: 30_000,
  }).optional(),
  l2ThresholdMs: doc(positiveTimerMs(), {
    description: "seed alias of `mcpHeartbeatIntervalMs`",
    example: 30_000,
  }).optional(),
  mcpHeartbeatTimeoutMs: doc(positiveTimerMs(), {
    description: "L2: a URL server that has not answered its ping within this long fails the round",
    example: 5_000,
    default: 5_000,
  }).optional(),
  probeTimeoutMs: doc(positiveTimerMs(), {
    description: "seed alias of `mcpHeartbeatTimeoutMs`",
    example: 5_000,
  }).optional(),
};

/** Both spellings of one option must agree. */
function aliasesAgree(p: Record<string, unknown>, ctx: z.RefinementCtx): void {
  for (const [alias, name] of Object.entries(PROBE_ALIASES)) {
    if (p[alias] !== undefined && p[name] !== undefined && p[alias] !== p[name]) {
      ctx.addIssue({
        code: "custom",
        path: [alias],
        message: `conflicts with ${name} (${String(p[alias])} vs ${String(p[name])}): ${alias} is the seed's name for ${name}; give one of them`,
      });
    }
  }
}

/** The file's `probe` object. */
export const probeSchema = z.strictObject(probeShape).superRefine(aliasesAgree);

/** The API's `probeOpts`: the same, plus the `onProbe` callback (a file cannot hold a function). */
export const probeOptsSchema = z
  .strictObject({
    ...probeShape,
    onProbe: doc(fn<(verdict: ProbeVerdict) => void>(), {
      description: "called with one `{ sessionId, level, ok, reason, at }` object per probe verdict",
      example: "(v) => console.log(v.level, v.ok, v.reason)",
    }).optional(),
  })
  .superRefine(aliasesAgree);

/** One probe verdict, as `onProbe` receives it. `at` is epoch milliseconds. */
export interface ProbeVerdict {
  sessionId: string;
  /** l0 process alive, l1 output progress (stall, input wait), l2 MCP heartbeat, l3 start-up acknowledged. */
  level: "l0" | "l1" | "l2" | "l3";
  ok: boolean;
  reason: string;
  at: number;
}

export const restartSchema = z
  .strictObject({
    backoffInitialMs: doc(timerMs(), {
      description: "delay before the first restart in the window (0 = at once, as the seed)",
      example: 1_000,
      default: 0,
    }).optional(),
    backoffFactor: doc(z.number().min(1).max(100), {
      description: "exponential backoff factor between restarts",
      example: 2,
      default: 2,
    }).optional(),
    backoffMaxMs: doc(timerMs(), { description: "cap of the backoff", example: 30_000, default: 30_000 }).optional(),
    mode: doc(z.enum(["fresh", "resume"]), {
      description: "`resume`: a restart runs the agent's resume command when its preset has one (docs/agents.md)",
      example: "resume",
      default: "fresh",
    }).optional(),
    rateLimitWaitMs: doc(timerMs(), {
      description: "rate limited with no reset time given: wait this long before the next run",
      example: 60_000,
      default: 60_000,
    }).optional(),
    rateLimitMaxWaitMs: doc(positiveTimerMs(), {
      description: "a reset further away than this ends the session `dead` (`rate_limited`) instead",
      example: 86_400_000,
      default: 86_400_000,
    }).optional(),
    failureBackoffInitialMs: doc(timerMs(), {
      description: "`network`/`crash` failures back off from at least this (× backoffFactor, capped at backoffMaxMs)",
      example: 1_000,
      default: 1_000,
    }).optional(),
    hostWaitMs: doc(timerMs(), {
      description:
        "remote: a run that ended because its host was unreachable waits at most this long for the host, then runs again at once, not counted against `maxRestarts` if it had lasted `hostSteadyMs` (still away: `dead`); 0 restarts it as any failure",
      example: 600_000,
      default: 600_000,
    }).optional(),
    hostSteadyMs: doc(timerMs(), {
      description:
        "remote: a run its host's outage ended before it had lasted this long is counted against `maxRestarts` (a host that keeps dropping runs ends the session); 0 never counts an outage",
      example: 300_000,
      default: 300_000,
    }).optional(),
    windowMs: doc(positiveTimerMs().nullable(), {
      description: "restart window: at most `maxRestarts` within it (OTP intensity/period); `null` = the whole run",
      example: 600_000,
      default: null,
    }).optional(),
  })
  .superRefine((r, ctx) => {
    if (r.backoffInitialMs !== undefined && r.backoffMaxMs !== undefined && r.backoffMaxMs < r.backoffInitialMs) {
      ctx.addIssue({
        code: "custom",
        path: ["backoffMaxMs"],
        message: `must be >= backoffInitialMs (${r.backoffInitialMs}), got ${r.backoffMaxMs}`,
      });
    }
  });

export const maxRestarts = () =>
  doc(count(), {
    description: "restarts allowed within `restart.windowMs` (the whole lifetime by default, as the seed)",
    example: 3,
    default: 3,
  });

export const graceMs = () =>
  doc(timerMs(), {
    description: "SIGTERM → SIGKILL delay when a process tree is stopped",
    example: 10_000,
    default: 10_000,
  });

export const leaseWaitMs = () =>
  doc(timerMs(), {
    description: "a run that needs an account waits at most this long for one, then fails",
    example: 600_000,
    default: 600_000,
  });

export type ProbeOptionsInput = z.input<typeof probeOptsSchema>;
export type RestartOptionsInput = z.input<typeof restartSchema>;

/** IANA time zone, checked by the runtime's Intl (an unknown zone throws a RangeError there). */
export const timeZone = () =>
  doc(
    z.string().refine((tz) => {
      try {
        new Intl.DateTimeFormat("en", { timeZone: tz });
        return true;
      } catch {
        return false;
      }
    }, 'is not an IANA time zone known to this runtime, e.g. "Europe/Paris"'),
    {
      description:
        'IANA zone for rate-limit resets printed without one ("resets 3pm"); default the session env\'s TZ (an IANA name), else the local zone',
      example: "Europe/Paris",
      default: null,
    },
  );

export const judgeAs = () =>
  doc(z.enum(AGENT_NAMES), {
    description:
      "judge this session's output as that agent's (e.g. a `command` wrapping claude); default its agent, or for a `command` whose program is named claude, codex or gemini, that CLI (`command` keeps it plain)",
    example: "claude",
    default: null,
  });
