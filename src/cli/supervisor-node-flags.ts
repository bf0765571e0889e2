import { DEFAULT_SEMI_SPACE_MIB, YOUNG_GENERATION_FLAG } from "../young-generation.js";

/**
 * The V8 flags of a process that does nothing but supervise: the `conductor run --detach` daemon.
 *
 * A young generation capped at 2 MiB a semi-space. V8 grows it to 16 MiB a half (32 MiB committed,
 * both halves touched as they flip) once the survivors of its scavenges add up to its size, which a
 * supervisor's steady trickle of session state always does; it shrinks it again only while the
 * process allocates under ~1 KB/ms. With 500 sessions printing a line a second that was a quarter of
 * the supervisor's RSS; capped at 4 MiB, the same run used ~20 MB less (130–133 → 110 MB) for 1.25–1.3× the
 * CPU, the extra scavenges on V8's helper threads; at 2 MiB another ~4 MB less (108 against 112 MB, 3
 * alternating rounds, 2026-12-04) for about the same CPU (bench/README.md). The maximum is
 * fixed when the heap is created; from inside a running process only the growth can be stopped
 * (src/young-generation.ts: what a foreground `conductor run` and an embedder use).
 */
export const SUPERVISOR_V8_FLAGS: readonly string[] = [`--max-semi-space-size=${DEFAULT_SEMI_SPACE_MIB}`];

/**
 * The node flags to start a supervisor process with: ours, unless the user already chose the young
 * generation's size in this process's flags (passed on) or in `NODE_OPTIONS` (the child inherits it).
 */
export function supervisorNodeArgs(
  execArgv: readonly string[] = process.execArgv,
  nodeOptions: string = process.env.NODE_OPTIONS ?? "",
): string[] {
  const chosen: string[] = [];
  execArgv.forEach((a, i) => {
    if (!YOUNG_GENERATION_FLAG.test(a)) return;
    // `--max-semi-space-size 2` is one flag in two arguments.
    chosen.push(...(a.includes("=") || execArgv[i + 1] === undefined ? [a] : [a, execArgv[i + 1] as string]));
  });
  if (chosen.length > 0) return chosen;
  if (YOUNG_GENERATION_FLAG.test(nodeOptions)) return [];
  return [...SUPERVISOR_V8_FLAGS];
}
