/** The CLI's argv parser (src/cli/args.ts) and the number flags it hands on, as a field review used them. */
import { execFile } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { parseArgs, UsageError } from "../src/cli/args.js";
import { commandHelp, defineCommands } from "../src/cli/commands.js";

const spec = {
  lines: { type: "string", short: "n" },
  follow: { type: "boolean", short: "f" },
} as const;

describe("parseArgs", () => {
  it("takes a short flag's value after '=' as the long one's (-n=5 was 'unknown option \"-n\"')", () => {
    for (const argv of [["-n=5"], ["-n", "5"], ["--lines=5"], ["--lines", "5"]])
      expect(parseArgs(argv, spec).flags.lines).toBe("5");
    expect(parseArgs(["-f"], spec).flags.follow).toBe(true);
    expect(() => parseArgs(["-x=1"], spec)).toThrow(new UsageError('unknown option "-x"'));
    expect(() => parseArgs(["-f=1"], spec)).toThrow(new UsageError("--follow takes no value"));
  });
});

describe("conductor without a command", () => {
  const cli = fileURLToPath(new URL("../dist/src/cli/main.js", import.meta.url));
  it("is a usage error: the help on stderr and exit 2 (it was on stdout, as if asked for); --help is on stdout, exit 0", async () => {
    const run = (args: string[]) =>
      promisify(execFile)(process.execPath, [cli, ...args]).then(
        (r) => ({ code: 0, ...r }),
        (e: { code: number; stdout: string; stderr: string }) => e,
      );
    const bare = await run([]);
    expect([bare.code, bare.stdout, bare.stderr]).toEqual([2, "", expect.stringContaining("conductor <command>")]);
    const help = await run(["--help"]);
    expect([help.code, help.stderr, help.stdout]).toEqual([0, "", bare.stderr]);
  });
});

describe("conductor logs --lines", () => {
  const cli = fileURLToPath(new URL("../dist/src/cli/main.js", import.meta.url));
  it("takes digits only: 0x10 and 1e3 are refused, not read as 16 and 1000", async () => {
    const cwd = mkdtempSync(join(tmpdir(), "conductor-args-"));
    for (const value of ["0x10", "1e3", "0", "-1"]) {
      const r = await promisify(execFile)(process.execPath, [cli, "logs", "a", `--lines=${value}`], { cwd }).then(
        () => ({ code: 0, stderr: "" }),
        (e: { code: number; stderr: string }) => e,
      );
      expect([r.code, r.stderr.split("\n")[0]]).toEqual([
        2,
        `conductor logs: --lines needs a positive number (got ${value})`,
      ]);
    }
  });
});

describe("conductor <command> --help", () => {
  it("lists every option, -h last among them, then the command's notes (ls, send, attach, report printed theirs above -h)", () => {
    const commands = defineCommands(
      Object.fromEntries(
        ["run", "ls", "logs", "send", "kill", "restart", "attach", "stop", "report"].map((n) => [n, async () => 0]),
      ),
    );
    const notes: Record<string, string> = {
      run: "exit codes:",
      ls: "Without --name",
      send: "The text is never",
      attach: "Ctrl-C detaches",
      report: "The log is streamed",
    };
    for (const c of commands) {
      const lines = commandHelp(c).split("\n");
      const options = lines.slice(lines.indexOf("options:") + 1);
      const help = options.indexOf("  -h, --help        this help");
      expect(help, c.name).toBeGreaterThan(0);
      // Every line above -h is an option (indented); none below it is.
      expect(
        options.slice(0, help).every((l) => l.startsWith("  ")),
        c.name,
      ).toBe(true);
      expect(
        options.slice(help + 1).some((l) => l.startsWith("  ")),
        c.name,
      ).toBe(false);
      if (notes[c.name]) expect(options.slice(help + 1).join("\n"), c.name).toContain(notes[c.name]);
    }
  });
});
