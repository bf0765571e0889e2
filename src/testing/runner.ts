/**
 * Running generated paths against a real system: follow one actor's recorded transitions and
 * check each step took exactly the predicted ones, and run many paths a few at a time.
 */
import type { TakenStep, TransitionRecorder } from "./coverage.js";

/**
 * `S`: the snapshot type `serialize` takes, e.g. `serializeSessionState`'s (`SessionSnapshotValue`):
 * the recorder keeps every actor's snapshot untyped, the actor followed is yours to name.
 */
export interface FollowOptions<S = TakenStep["snapshot"]> {
  /** Keys the runtime may take between expected ones without it being a divergence. */
  noise?: ReadonlySet<string>;
  /** Abstraction to compare with the expected test state (on the snapshot after the step). */
  serialize?: (snapshot: S) => string;
  timeoutMs?: number;
}

export interface ActorFollower {
  /**
   * Resolves once the actor has taken `keys` in order (after what earlier calls matched).
   * Rejects at once when it takes anything else, and after the timeout when it takes nothing.
   */
  took(keys: readonly string[], expectedState?: string, label?: string): Promise<TakenStep | undefined>;
  stop(): void;
}

/** Follows the transitions one actor (by id) takes, as recorded by `recordTransitions()`. */
export function followActor<S = TakenStep["snapshot"]>(
  rec: TransitionRecorder,
  actorId: string,
  opts: FollowOptions<S> = {},
): ActorFollower {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const taken: TakenStep[] = rec.steps.filter((s) => s.actor === actorId);
  let cursor = 0;
  let wake: (() => void) | undefined;
  const off = rec.onStep((s) => {
    if (s.actor !== actorId) return;
    taken.push(s);
    wake?.();
  });
  /** undefined: not yet; a step: matched; throws on a divergence. */
  const match = (keys: readonly string[], label: string): TakenStep | undefined => {
    let j = 0;
    for (let i = cursor; i < taken.length; i++) {
      const step = taken[i] as TakenStep;
      for (const key of step.keys) {
        if (j < keys.length && key === keys[j]) j++;
        else if (!opts.noise?.has(key)) {
          throw new Error(`${label}: expected [${keys.join(" ; ")}], the runtime took "${key}" (on ${step.event})`);
        }
      }
      if (j === keys.length) {
        cursor = i + 1;
        return taken[i];
      }
    }
    return undefined;
  };
  return {
    async took(keys, expectedState, label = "step") {
      if (keys.length === 0) return undefined;
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const step = match(keys, label);
        if (step) {
          if (expectedState !== undefined && opts.serialize) {
            const got = opts.serialize(step.snapshot as unknown as S);
            if (got !== expectedState)
              throw new Error(`${label}: expected test state ${expectedState}, the runtime is in ${got}`);
          }
          return step;
        }
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`${label}: timed out after ${timeoutMs} ms waiting for [${keys.join(" ; ")}]`);
        // Event-driven: resume in the same turn the transition is reported (a microtask later).
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, left);
          wake = () => {
            clearTimeout(t);
            wake = undefined;
            resolve();
          };
        });
      }
    },
    stop: off,
  };
}

export interface PoolResult<T> {
  results: T[];
  failures: Error[];
  ms: number;
}

/** Runs `job` over `items`, `concurrency` at a time; failures are collected, not thrown. */
export async function runPool<I, T>(
  items: readonly I[],
  concurrency: number,
  job: (item: I, index: number) => Promise<T>,
): Promise<PoolResult<T>> {
  const started = Date.now();
  const queue = items.map((item, index) => ({ item, index }));
  const results: T[] = [];
  const failures: Error[] = [];
  await Promise.all(
    Array.from({ length: Math.max(1, concurrency) }, async () => {
      for (let next = queue.shift(); next; next = queue.shift()) {
        await job(next.item, next.index).then(
          (r) => void results.push(r),
          (err: unknown) => void failures.push(err instanceof Error ? err : new Error(String(err))),
        );
      }
    }),
  );
  return { results, failures, ms: Date.now() - started };
}
