import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Integration tests spawn real ptys; two cores here, so keep parallelism modest.
    maxWorkers: 2,
    globalSetup: ["./test/global-tmpdir.ts"],
    reporters: ["default", "./test/summary-reporter.ts"],
  },
});
