/** The `tool` scenario's calls: `tool` asks for one, `tool-N` for N in one answer (scenario.ts). */
import type { Scenario } from "./scenario.js";

export const toolCalls = (scenario: Scenario): number => Math.max(1, scenario.seconds);

/** The first call's target keeps its name (the recordings and tests use it); the next ones are numbered. */
export const toolTarget = (base: string, index: number, ext = ""): string =>
  index === 0 ? `${base}${ext}` : `${base}-${index + 1}${ext}`;
