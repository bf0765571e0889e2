/**
 * Whose a tmux session in a create's way is (actors/remote-orphan-watch.ts, judgeBlocker): an orphan
 * only when its conductor is provably gone, never because its control client is away for a moment.
 */
import { describe, expect, it } from "vitest";
import { judgeBlocker } from "../actors/remote-orphan-watch.js";

const OWNER = "0123456789ab";
const here = { pidSpace: "boot-1/pid:[7]", alive: (pid: number) => pid === 100 };
const facts = (over: Partial<Parameters<typeof judgeBlocker>[0]> = {}) => ({
  owner: OWNER,
  livePid: "555",
  clients: ["777"],
  proc: "boot-1/pid:[7] 200 9999",
  ...over,
});

describe("the owner of a session in a create's way", () => {
  it("no owner token: the user's own session", () => {
    expect(judgeBlocker(facts({ owner: "" }), here)).toEqual({ kind: "foreign" });
    expect(judgeBlocker(facts({ owner: "not-a-token" }), here)).toEqual({ kind: "foreign" });
  });

  it("its conductor's control client is attached: live", () => {
    expect(judgeBlocker(facts({ clients: ["777", "555"] }), here)).toEqual({
      kind: "live",
      owner: OWNER,
      clientPid: "555",
    });
  });

  it("not attached and its process, in this pid space, is dead: an orphan", () => {
    expect(judgeBlocker(facts(), here)).toEqual({ kind: "orphan", owner: OWNER });
  });

  it("defect: not attached but its process lives (paused, reconnecting): away, never ended by a create", () => {
    expect(judgeBlocker(facts({ proc: "boot-1/pid:[7] 100 9999" }), here)).toEqual({ kind: "away", owner: OWNER });
  });

  it("a process elsewhere (another machine, container or boot) or not recorded cannot be judged here: away", () => {
    expect(judgeBlocker(facts({ proc: "boot-2/pid:[7] 200 9999" }), here)).toEqual({ kind: "away", owner: OWNER });
    expect(judgeBlocker(facts({ proc: "boot-1/pid:[8] 200 9999" }), here)).toEqual({ kind: "away", owner: OWNER });
    expect(judgeBlocker(facts({ proc: "" }), here)).toEqual({ kind: "away", owner: OWNER });
    const unknown = { ...here, pidSpace: "unknown" };
    expect(judgeBlocker(facts({ proc: "unknown 200 9999" }), unknown)).toEqual({ kind: "away", owner: OWNER });
  });
});
