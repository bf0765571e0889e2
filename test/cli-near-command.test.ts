/** Which command a mistyped one is offered: only a close one (`bogus` was offered `logs`). */
import { describe, expect, it } from "vitest";
import { nearCommand } from "../src/cli/near-command.js";

const NAMES = ["run", "ls", "logs", "send", "kill", "restart", "attach", "stop", "report"];

describe("nearCommand", () => {
  it("offers the command one edit away, a swap of neighbours counted as one", () => {
    for (const [typed, meant] of [
      ["lgos", "logs"],
      ["log", "logs"],
      ["sned", "send"],
      ["repot", "report"],
      ["KILL", "kill"],
    ])
      expect(nearCommand(typed as string, NAMES), typed).toBe(meant);
  });

  it("two edits only for a long command; a word no command is near gets nothing", () => {
    expect(nearCommand("reprt", NAMES)).toBe("report");
    expect(nearCommand("atach", NAMES)).toBe("attach");
    for (const typed of ["bogus", "foo", "xyz", "", "spot", "restarts-all"])
      expect(nearCommand(typed, NAMES), typed).toBeUndefined();
  });

  it("the one command a word begins, from three letters: none when two begin so", () => {
    expect(nearCommand("rep", NAMES)).toBe("report");
    expect(nearCommand("atta", NAMES)).toBe("attach");
    expect(nearCommand("re", NAMES)).toBeUndefined();
  });
});
