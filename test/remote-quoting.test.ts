/**
 * Quoting for remote command lines, checked by the real interpreters: /bin/sh for ssh exec
 * lines, tmux's own parser for control-mode commands. Nasty inputs must come out literally
 * and never run anything.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  checkSessionName,
  checkSocketName,
  checkTarget,
  shJoin,
  shQuote,
  tmuxLine,
  tmuxQuote,
  TmuxNameError,
} from "../actors/shell-quote.js";
import { killTmuxServer } from "./helpers/sshd.js";

const tmp = mkdtempSync(join(tmpdir(), "remote-quote-test-"));
const marker = join(tmp, "pwned");
const SOCKET = `cond-quote-${process.pid}`;
afterAll(async () => {
  await killTmuxServer(SOCKET);
  rmSync(tmp, { recursive: true, force: true });
});

const NASTY = [
  `x; touch ${marker}`,
  `$(touch ${marker})`,
  `\`touch ${marker}\``,
  `' ; touch ${marker}; echo '`,
  `" ; touch ${marker}; echo "`,
  `a\nb; touch ${marker}`,
  `\\'\\"\\\\`,
  "$HOME ~ ~root * ? [a] {a,b} #{pane_id} %1 @1 $1",
  "ünïcødé ✓ 日本語 🚀",
  "tab\there\rcr \x1b[31mred\x1b[0m \x07bell",
  "",
  "-n",
  "--",
];

describe("shQuote / shJoin (POSIX sh, for ssh exec lines)", () => {
  it.each(NASTY.map((s) => [JSON.stringify(s), s]))("%s reaches the program literally", (_, value) => {
    const out = execFileSync("/bin/sh", ["-c", `printf '%s' ${shQuote(value)}`], { encoding: "utf8" });
    expect(out).toBe(value);
    expect(existsSync(marker)).toBe(false);
  });

  it("shJoin keeps argv boundaries", () => {
    const argv = ["printf", "[%s]", ...NASTY];
    const out = execFileSync("/bin/sh", ["-c", shJoin(argv)], { encoding: "utf8" });
    expect(out).toBe(NASTY.map((s) => `[${s}]`).join(""));
    expect(existsSync(marker)).toBe(false);
  });

  it("refuses NUL, which no command line can carry", () => {
    expect(() => shQuote("a\0b")).toThrow(/NUL/);
    expect(() => tmuxQuote("a\0b")).toThrow(/NUL/);
  });
});

describe("tmuxQuote (tmux's command parser: control-mode stdin and source-file)", () => {
  it("every nasty value round-trips through tmux unchanged: no $, ~, # or format expansion, no line break", () => {
    const cmds = NASTY.map((v, i) => tmuxLine([["set-buffer", "-b", `b${i}`, "--", v]]));
    const file = join(tmp, "cmds.tmux");
    writeFileSync(file, `${cmds.join("\n")}\n`);
    execFileSync("tmux", ["-L", SOCKET, "-f", "/dev/null", "new-session", "-d", "-s", "q", "sleep 30"]);
    execFileSync("tmux", ["-L", SOCKET, "source-file", file]);
    NASTY.forEach((v, i) => {
      if (v === "") return; // tmux refuses an empty buffer; the quoting is still ""
      const got = execFileSync("tmux", ["-L", SOCKET, "show-buffer", "-b", `b${i}`], { encoding: "utf8" });
      expect(got).toBe(v);
    });
    expect(existsSync(marker)).toBe(false);
  });

  it("is a single double-quoted word of safe bytes and octal escapes", () => {
    expect(tmuxQuote("a b")).toBe('"a b"');
    expect(tmuxQuote("$x")).toBe('"\\044x"');
    expect(tmuxQuote("é")).toBe('"\\303\\251"');
    expect(tmuxQuote("a\nb")).not.toMatch(/\n/);
  });
});

describe("tmux names and targets", () => {
  it("accepts ordinary and punctuation-heavy names (they are quoted anyway)", () => {
    for (const ok of ["review-1", "x; touch /tmp/pwned", "a$(id)", "ünï code", "with space"])
      expect(checkSessionName(ok)).toBe(ok);
  });

  it.each([
    ["", /empty/],
    ["a.b", /':' or '\.'/],
    ["a:b", /':' or '\.'/],
    ["a\nb", /control character/],
    ["a\x1bb", /control character/],
    ["a\x9bb", /control character/],
    ["x#{pane_id}", /'#'/],
    ["$(id)", /starts with/],
    ["-t", /starts with/],
    ["=x", /starts with/],
    ["x".repeat(129), /longer than 128/],
  ])("rejects %j", (name, why) => {
    expect(() => checkSessionName(name)).toThrow(TmuxNameError);
    expect(() => checkSessionName(name)).toThrow(why);
  });

  it("targets allow tmux's own syntax but no control characters or formats", () => {
    for (const ok of ["name:0.1", "%12", "@3", "=name:"]) expect(checkTarget(ok)).toBe(ok);
    expect(() => checkTarget("a\nkill-server")).toThrow(/control character/);
    expect(() => checkTarget("#{pane_id}")).toThrow(/'#'/);
  });

  it("socket names are plain file names", () => {
    expect(checkSocketName("conductor")).toBe("conductor");
    for (const bad of ["../x", "a b", "", "x;y"]) expect(() => checkSocketName(bad)).toThrow(/socket name/);
  });
});
