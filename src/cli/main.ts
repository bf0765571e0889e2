#!/usr/bin/env node
/** The `conductor` command: `conductor <command> [options]`, `conductor <command> --help`. */
// First: evaluated before the imports below grow the heap's young generation.
import "./young-generation-cap.js";
import { attachCommand } from "./attach.js";
import { killCommand, restartCommand, sendCommand, stopCommand } from "./actions.js";
import { parseArgs, UsageError } from "./args.js";
import { type Command, commandHelp, defineCommands, mainHelp } from "./commands.js";
import { logsCommand } from "./logs.js";
import { lsCommand } from "./ls.js";
import { nearCommand } from "./near-command.js";
import { reportCommand } from "./report.js";
import { DEMO_CONFIG, packageVersion, runFromFlags } from "./run.js";
import { whenStdoutCloses } from "./stdout-closed.js";

const out = process.stdout;
const commands = defineCommands({
  run: (flags, positionals) => runFromFlags(flags, positionals, process.argv.slice(3)),
  ls: (flags, positionals) => lsCommand(flags, out, positionals),
  logs: (flags, positionals) => logsCommand(flags, positionals, out),
  send: (flags, positionals) => sendCommand(flags, positionals, out),
  kill: (flags, positionals) => killCommand(flags, positionals, out),
  restart: (flags, positionals) => restartCommand(flags, positionals, out),
  attach: (flags, positionals) => attachCommand(flags, positionals, out),
  stop: (flags, positionals) => stopCommand(flags, positionals, out),
  report: (flags, positionals) => reportCommand(flags, positionals, out),
});
const HELP = mainHelp(commands, DEMO_CONFIG);

function usage(problem: string, c?: Command): number {
  process.stderr.write(`conductor${c ? ` ${c.name}` : ""}: ${problem}\n\n${c ? commandHelp(c) : HELP}`);
  return 2;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  whenStdoutCloses(name ?? "");
  // Asked for (--help): on stdout, exit 0. No command at all is a usage error: on stderr, exit 2.
  if (name === undefined || name === "--help" || name === "-h") {
    (name === undefined ? process.stderr : process.stdout).write(HELP);
    return name === undefined ? 2 : 0;
  }
  if (name === "--version" || name === "-v") {
    process.stdout.write(`${packageVersion()}\n`);
    return 0;
  }
  if (name === "help") {
    const c = commands.find((x) => x.name === rest[0]);
    if (!c && rest[0] !== undefined) process.stderr.write(`conductor: unknown command "${rest[0]}"\n\n`);
    process.stdout.write(c ? commandHelp(c) : HELP);
    return rest[0] === undefined || c ? 0 : 2;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    // By spelling, and only when close (`bogus` was offered `logs`): else the commands there are.
    const names = commands.map((c) => c.name);
    const near = nearCommand(name, names);
    const hint = near ? `; did you mean "conductor ${near}"?` : name === "" ? "" : ` (commands: ${names.join(", ")})`;
    return usage(`unknown command "${name}"${hint}`);
  }
  // Before "--" only: after it is text (`conductor send tui -- --help` types "--help").
  const options = rest.includes("--") ? rest.slice(0, rest.indexOf("--")) : rest;
  if (options.includes("--help") || options.includes("-h")) {
    process.stdout.write(commandHelp(command));
    return 0;
  }
  try {
    const { flags, positionals } = parseArgs(rest, command.flags);
    return await command.run(flags, positionals);
  } catch (err) {
    if (err instanceof UsageError)
      return usage(
        // `conductor send tui -n`: text that starts with "-" goes after "--".
        command.name === "send" && err.message.startsWith("unknown option")
          ? `${err.message} (to send text starting with "-", put it after --: conductor send <id> -- ${JSON.stringify(err.message.match(/"(.*)"/)?.[1] ?? "-x")})`
          : err.message,
        command,
      );
    if (command.name === "run") throw err; // a bug in a run: the stack matters
    process.stderr.write(`conductor ${command.name}: ${(err as Error)?.message ?? String(err)}\n`);
    return 1;
  }
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
