import { defineConfig } from "vitest/config";

// The live agent suite: real claude/codex/gemini against the fake API. Run through
// `npm run test:agents` (installs the CLIs, then runs vitest inside a loopback-only `unshare -n`).
export default defineConfig({
  test: {
    include: ["test/agents/*.live.ts"],
    testTimeout: 600_000,
    hookTimeout: 120_000,
    fileParallelism: false,
    maxWorkers: 1,
    globalSetup: ["./test/global-tmpdir.ts"],
    // Cases of conductor.live.ts run side by side (test.concurrent); each CLI run is heavy.
    maxConcurrency: Number(process.env.AGENTS_LIVE_CONCURRENCY ?? 3),
  },
});
