/**
 * The output logs' policy (rotation size and count, where their events go), per logs directory: the
 * conductor that owns the directory sets one, and `openLog` finds it by the log's path, so the
 * runners that open logs need no new parameter.
 */
import { dirname, resolve } from "node:path";
import type { OutputLogError } from "./output-log-loss.js";

export const DEFAULT_OUTPUT_LOG_MAX_BYTES = 64 * 1024 * 1024;
export const DEFAULT_OUTPUT_LOG_KEEP = 3;

export interface OutputLogPolicy {
  /** Rotate before a write would take the file past this many bytes; 0: never. */
  maxBytes: number;
  /** Rotated files kept: `<file>.1` (newest) … `<file>.<keep>`. */
  keep: number;
  /**
   * `output.rotated` after each rotation, `output.rotate_failed` when a rename or open failed,
   * `output.gap` when a streak of failed writes ended, `output.recreated` when the file had been
   * removed under the log and was made again (output-log-loss.ts).
   */
  onEvent?: (
    event: "output.rotated" | "output.rotate_failed" | "output.gap" | "output.recreated",
    data: Record<string, unknown>,
  ) => void;
  /** A streak of failed writes began (`write_failed`) or ended by a write that landed (`recovered`); `recreated`. */
  onError?: (e: OutputLogError) => void;
}

const DEFAULT_POLICY: OutputLogPolicy = { maxBytes: DEFAULT_OUTPUT_LOG_MAX_BYTES, keep: DEFAULT_OUTPUT_LOG_KEEP };
// A stack per directory: a second conductor on the same directory wins until it leaves.
const policies = new Map<string, OutputLogPolicy[]>();

/** Sets the policy of every output log opened in `dir` from now on; the result removes it again. */
export function setOutputLogPolicy(dir: string, policy: Partial<OutputLogPolicy>): () => void {
  const key = resolve(dir);
  const entry: OutputLogPolicy = {
    maxBytes: Math.max(0, Math.floor(policy.maxBytes ?? DEFAULT_POLICY.maxBytes)),
    keep: Math.max(1, Math.floor(policy.keep ?? DEFAULT_POLICY.keep)),
    ...(policy.onEvent ? { onEvent: policy.onEvent } : {}),
    ...(policy.onError ? { onError: policy.onError } : {}),
  };
  const stack = policies.get(key) ?? [];
  stack.push(entry);
  policies.set(key, stack);
  return () => {
    const i = stack.indexOf(entry);
    if (i >= 0) stack.splice(i, 1);
    if (stack.length === 0 && policies.get(key) === stack) policies.delete(key);
  };
}

/** The policy for a log at `path` (the defaults, without events, when its directory has none). */
export function outputLogPolicyFor(path: string): OutputLogPolicy {
  return policies.get(dirname(resolve(path)))?.at(-1) ?? DEFAULT_POLICY;
}
