#!/usr/bin/env node
/** The `conductor` command. */
import { DEMO_CONFIG, packageVersion, runCommand, type RunFlags } from "./run.js";

const HELP = `conductor: supervise CLI agent sessions (codex, gemini, claude, any command)

usage:
  conductor run [config.json] [--logs-dir DIR] [--inspect[=PORT]]
                       run every session of a config (no config: the built-in demo)
                       --inspect: serve a live statechart view of every session on
                       http://127.0.0.1:PORT/ (no PORT: a free one) until the run ends
  conductor --help | --version

exit codes: 0 every session ended as expected, 1 some did not, 2 bad config or usage
demo config: ${DEMO_CONFIG}
`;

function usage(problem: string): number {
  process.stderr.write(`conductor: ${problem}\n\n${HELP}`);
  return 2;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === "--help" || command === "-h" || command === "help") {
    process.stdout.write(HELP);
    return command === undefined ? 2 : 0;
  }
  if (command === "--version" || command === "-v") {
    process.stdout.write(`${packageVersion()}\n`);
    return 0;
  }
  if (command !== "run") return usage(`unknown command "${command}"; did you mean "conductor run"?`);
  const flags: RunFlags = {};
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]!;
    if (arg === "--logs-dir") {
      const value = rest[++i];
      if (!value) return usage("--logs-dir needs a directory, e.g. --logs-dir ./logs");
      flags.logsDir = value;
    } else if (arg.startsWith("--logs-dir=")) {
      flags.logsDir = arg.slice("--logs-dir=".length);
    } else if (arg === "--inspect") {
      flags.inspect = 0; // a free port
    } else if (arg.startsWith("--inspect=")) {
      const port = arg.slice("--inspect=".length);
      if (!/^\d{1,5}$/.test(port) || Number(port) > 65_535)
        return usage(`--inspect=PORT needs a port number from 0 to 65535, e.g. --inspect=7777 (got "${port}")`);
      flags.inspect = Number(port);
    } else if (arg.startsWith("-")) {
      return usage(`unknown option "${arg}"`);
    } else if (flags.configPath) {
      return usage(`one config file at a time (got "${flags.configPath}" and "${arg}")`);
    } else {
      flags.configPath = arg;
    }
  }
  return runCommand(flags);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`conductor: unexpected error: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exitCode = 70;
  },
);
