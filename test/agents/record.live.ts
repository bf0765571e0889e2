/**
 * Regenerates the fixtures: `npm run test:agents:record` (all cases) or
 * `AGENTS_RECORD='claude/*,codex/auth-401' npm run test:agents:record`. Cases run one at a time
 * (they share the fixed recording folders), inside the suite's loopback-only network namespace.
 */
import { describe, expect, test } from "vitest";
import { installAgents } from "../../scripts/agents/install.mjs";
import { type AgentCase, CASES, caseId, inSelection } from "./cases.js";
import { startFakeApi } from "./fake-api/server.js";
import { assertLoopbackOnly } from "./netns.js";
import { recordCase } from "./record-case.js";
import { CACHE_DIR } from "./paths.js";

const selection = process.env.AGENTS_RECORD;

const selected = (k: AgentCase) => (selection ? inSelection(selection, k) : false);

describe.runIf(selection)("record the real CLIs", () => {
  const cases = CASES.filter(selected);
  test.each(cases.map((k) => [caseId(k), k] as const))(
    "%s",
    async (_id, k) => {
      assertLoopbackOnly();
      const installed = installAgents(CACHE_DIR, () => {}) as Record<string, { bin: string; version: string }>;
      const api = await startFakeApi();
      try {
        const e = await recordCase(k, installed[k.cli]!, api);
        console.log(
          `${caseId(k)}: exit=${e.exitCode} signal=${e.signal} ${e.durationMs} ms line=${JSON.stringify(e.errorLine)}` +
            `${e.question ? ` question=${JSON.stringify(e.question.text)}` : ""} titles=${e.windowTitles.length}` +
            ` requests=${e.apiRequests.length}${e.note ? ` NOTE ${e.note}` : ""}`,
        );
        expect(e.durationMs).toBeGreaterThan(0);
      } finally {
        await api.close();
      }
    },
    Math.max(400_000, ...cases.map((k) => k.maxMs + 60_000)),
  );
});
