/**
 * `conductor run`'s words for the library's refusals that a test cannot provoke from a config (a
 * process that outlives SIGKILL, a signal between two spawns): src/cli/run-errors.ts.
 */
import { describe, expect, it } from "vitest";
import { runErrorMessage } from "../src/cli/run-errors.js";
import { survivorsError } from "../src/conductor-spawn.js";
import { ConductorError, OptionsError } from "../src/errors.js";

const config = { sessions: [{ id: "a", agent: "command", command: ["true"] }] } as never;
const ctx = { config, configPath: "c.json" };

describe("conductor run's words for library errors", () => {
  it("names no library call: processes that survived a shutdown, a spawn refused while stopping", () => {
    expect(runErrorMessage(survivorsError("shutdown()", [41, 42]), ctx)).toMatch(
      /^2 process\(es\) of the session trees outlived SIGKILL: pids 41, 42\. They are stuck/,
    );
    const stopping = new ConductorError(
      "Conductor is shutting down: spawnSession is refused once shutdown() was called",
      {
        code: "SHUTTING_DOWN",
      },
    );
    expect(runErrorMessage(stopping, ctx)).toBe(
      "the run is stopping (a signal, or conductor stop): no session starts now",
    );
    const nested = new ConductorError('createConductor({ control }): no "cause" here', { code: "CONTROL" });
    expect(runErrorMessage(nested, ctx)).toBe('the control socket cannot be opened: no "cause" here');
  });

  it("an options error is said with the file's keys (probe, not probeOpts), each issue on its line", () => {
    const e = new OptionsError("spawnSession", [
      { path: "probeOpts.stallMs", problem: "must be at least 1", example: "60000" },
      { path: "workdir", problem: "must be a string", example: '"./src"' },
    ]);
    const session = { id: "a", agent: "command", command: ["true"] } as never;
    expect(runErrorMessage(e, ctx, session)).toBe(
      'c.json: invalid settings\n  - session "a" in c.json, "probe.stallMs": must be at least 1. Example: 60000\n' +
        '  - session "a" in c.json, "workdir": must be a string. Example: "./src"',
    );
    const wide = new OptionsError("createConductor", [
      { path: "probeOpts.stallMs", problem: "too small", example: "60000" },
    ]);
    expect(runErrorMessage(wide, ctx)).toBe('"probe.stallMs" in c.json: too small. Example: "stallMs": 60000');
  });
});
