/** The end of a model-based test of a chart on its own: every state and transition taken, none unknown. */
import type { AnyStateMachine } from "xstate";
import { expect } from "vitest";
import { coverageReport } from "../../src/testing/coverage.js";

/** Prints the model's size and the coverage report under `label`, then asserts 100 % of both. */
export function expectFullCoverage(
  label: string,
  machine: AnyStateMachine,
  run: {
    taken: Set<string>;
    visited: Set<string>;
    graph: { states: ReadonlyMap<string, unknown>; edges: readonly unknown[] };
    paths: number;
  },
): void {
  const report = coverageReport(machine, run.taken, run.visited);
  console.log(
    `${label} model: ${run.graph.states.size} abstract states, ${run.graph.edges.length} edges, ${run.paths} paths\n${report.text}`,
  );
  expect(report.unknown).toEqual([]);
  expect(report.transitions.covered).toBe(report.transitions.total);
  expect(report.states.covered).toBe(report.states.total);
}
