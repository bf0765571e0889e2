/**
 * Output a remote pane printed while its host was away, found in the pane's captured history
 * after the last lines our screen showed (actors/remote-catchup.ts). Ambiguity loses, never
 * duplicates.
 */
import { describe, expect, it } from "vitest";
import { missedOutput, missedText } from "../actors/remote-catchup.js";

describe("output missed during a host outage", () => {
  const cases: Array<{ name: string; seen: string[]; captured: string[]; want: ReturnType<typeof missedOutput> }> = [
    {
      name: "lines printed after our last line",
      seen: ["$ run", "before-drop"],
      captured: ["$ run", "before-drop", "after-drop", "__DONE__", "", ""],
      want: { aligned: true, head: "", lines: ["after-drop", "__DONE__"] },
    },
    {
      name: "nothing printed meanwhile",
      seen: ["a", "b"],
      captured: ["a", "b", ""],
      want: { aligned: true, head: "", lines: [] },
    },
    {
      name: "the line we saw half-written was finished",
      seen: ["Proceed? (y/n) "],
      captured: ["Proceed? (y/n) y", "answer=y"],
      // Screens are compared right-trimmed: the blank the prompt ended with is part of the head.
      want: { aligned: true, head: " y", lines: ["answer=y"] },
    },
    {
      name: "history scrolled past our screen's top: placed by its last lines",
      seen: ["old 1", "old 2", "old 3", "old 4"],
      captured: ["old 2", "old 3", "old 4", "new 1"],
      want: { aligned: true, head: "", lines: ["new 1"] },
    },
    {
      name: "blank lines in between do not break the match",
      seen: ["x", "", "y"],
      captured: ["x", "", "y", "", "z"],
      want: { aligned: true, head: "", lines: ["", "z"] },
    },
    {
      name: "repeated lines: the latest place wins (loss, not duplication)",
      seen: ["tick", "tick"],
      captured: ["tick", "tick", "tick", "tick"],
      want: { aligned: true, head: "", lines: [] },
    },
    {
      name: "an empty screen: all of the history is new",
      seen: [],
      captured: ["", "first", "second"],
      want: { aligned: true, head: "", lines: ["first", "second"] },
    },
    {
      name: "a redrawn screen that holds none of our lines: not aligned, nothing made up",
      seen: ["menu A"],
      captured: ["completely", "different"],
      want: { aligned: false, head: "", lines: [] },
    },
  ];
  for (const c of cases) it(c.name, () => expect(missedOutput(c.seen, c.captured)).toEqual(c.want));

  it("defect: an empty screen and a full history: what is there is new, and the start may be gone (a gap, not 'aligned')", () => {
    expect(missedOutput([], ["", "line 661", "line 662"], true)).toEqual({
      aligned: true,
      head: "",
      lines: ["line 661", "line 662"],
      gap: true,
    });
  });

  it("defect: an ended last line cannot have grown: `x-line-1` is not the start of `x-line-10`", () => {
    const captured = Array.from({ length: 10 }, (_, i) => `x-line-${i + 1}`);
    // Ended (the last byte we had was a newline): it is where it is, and all after it is new.
    expect(missedOutput(["x-line-1"], captured, false, false)).toEqual({
      aligned: true,
      head: "",
      lines: captured.slice(1),
    });
    // Still open (a prompt being written): the latest line it may have grown into wins, as before.
    expect(missedOutput(["x-line-1"], captured, false, true)).toEqual({ aligned: true, head: "0", lines: [] });
  });

  it("as log text: continues the line or starts a new one, ends it when the pane's cursor is at column 0", () => {
    const lines = { aligned: true, head: "", lines: ["after", "done"] };
    expect(missedText(lines, true, 0)).toBe("after\r\ndone\r\n");
    expect(missedText(lines, false, 0)).toBe("\r\nafter\r\ndone\r\n");
    expect(missedText(lines, true, 4)).toBe("after\r\ndone");
    // The log already holds the prompt's trailing blank: it is not written twice.
    expect(missedText({ aligned: true, head: " y", lines: ["answer=y"] }, false, 0, 1)).toBe("y\r\nanswer=y\r\n");
    expect(missedText({ aligned: true, head: " y", lines: [] }, false, 3, 0)).toBe(" y");
    expect(missedText({ aligned: true, head: "", lines: [] }, true, 0)).toBe("");
    expect(missedText({ aligned: false, head: "", lines: [] }, true, 0)).toBe("");
  });
});
