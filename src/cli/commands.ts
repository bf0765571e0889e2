/** The `conductor` commands: their flags, their help, and what runs them. */
import type { FlagSpec, Flags } from "./args.js";
import { TARGET_FLAGS, TARGET_HELP } from "./connect.js";

export interface Command {
  name: string;
  summary: string;
  usage: string;
  flags: Record<string, FlagSpec>;
  help: string;
  run(flags: Flags, positionals: string[]): Promise<number>;
}

const COLOR_FLAG: Record<string, FlagSpec> = { color: { type: "boolean" } };

export function defineCommands(runners: Record<string, Command["run"]>): Command[] {
  const cmd = (c: Omit<Command, "run">): Command => ({ ...c, run: runners[c.name] as Command["run"] });
  const all: Command[] = [
    cmd({
      name: "run",
      summary: "run every session of a config under supervision (no config: the built-in demo)",
      usage: "conductor run [config.json] [options]",
      flags: {
        "logs-dir": { type: "string", hint: "a directory, e.g. --logs-dir ./logs" },
        inspect: { type: "string", bare: "0", hint: "a port, e.g. --inspect=7777" },
        linger: { type: "string", hint: "seconds, e.g. --linger 60" },
        name: { type: "string", hint: "a name, e.g. --name nightly" },
        detach: { type: "boolean" },
        control: { type: "boolean" },
        color: { type: "boolean" },
      },
      help: `  --logs-dir DIR    where the event log and each session's output go
                    (default: the config's logsDir, else .conductor-logs/run-<time>)
  --name NAME       this conductor's name for ls/logs/send/kill/stop (default: the config
                    file's name, "demo" for the demo; "-2", "-3"… when taken)
  --detach          start in the background, print its name, socket and pid, and return
  --inspect[=PORT]  serve the live viewer on http://127.0.0.1:PORT/ (no PORT: a free one);
                    the URL carries a random token; after the run ends the page stays up,
                    showing the final states, until Ctrl-C (or --linger; with --detach
                    it closes with the run unless --linger says how long)
  --linger SECONDS  with --inspect: keep the viewer up this long after the run (0: close at once)
  --no-control      no control socket (ls/logs/send/kill/stop cannot reach this run)
  --no-color        no colour in the live table even on a terminal

exit codes: 0 every session ended as its config expects, 1 some did not, 2 bad config or usage,
130/143/129 interrupted (SIGINT/SIGTERM/SIGHUP)`,
    }),
    cmd({
      name: "ls",
      summary: "list the sessions of running conductors (id, agent, state, restarts, uptime, …)",
      usage: "conductor ls [NAME] [--json]",
      flags: { ...TARGET_FLAGS, ...COLOR_FLAG, json: { type: "boolean" } },
      help: `${TARGET_HELP}
  --json            the sessions as one JSON array (the control protocol's "sessions" result),
                    each with a "conductor" field naming its conductor
  --no-color        no colour even on a terminal
Without --name (or NAME: ls NAME is ls --name NAME), every running conductor of this user is listed.
A conductor that does not answer within 5 s (CONDUCTOR_TIMEOUT=SECONDS) is named, the others
listed, exit 1.`,
    }),
    cmd({
      name: "logs",
      summary: "a session's output and lifecycle events, in time order (-f: follow)",
      usage: "conductor logs <id> [-f] [--lines N]",
      flags: {
        ...TARGET_FLAGS,
        ...COLOR_FLAG,
        follow: { type: "boolean", short: "f" },
        lines: { type: "string", short: "n", hint: "a number, e.g. --lines 50" },
      },
      help: `  -f, --follow      keep printing as the session goes on, until it ends or Ctrl-C
  -n, --lines N     show the last N lines of history first, output and events (as tail -n;
                    default 200); what is left out is said, with the path of the output log
  --no-color        no colour even on a terminal
${TARGET_HELP}`,
    }),
    cmd({
      name: "send",
      summary: "type text (and Enter) into a session, or send keys",
      usage: "conductor send <id> <text…> | conductor send <id> --keys Enter [--keys …]",
      flags: { ...TARGET_FLAGS, keys: { type: "string", many: true, hint: "a key name, e.g. --keys Enter" } },
      help: `  --keys KEY        a key to press (repeatable): Enter, Tab, Escape, Up, Down, Left, Right,
                    Backspace, Ctrl-C (or C-c) …
${TARGET_HELP}
The text is never written to the event log (its length is).`,
    }),
    cmd({
      name: "kill",
      summary: "stop one session for good (it ends dead); returns when its process tree is gone",
      usage: "conductor kill <id>",
      flags: TARGET_FLAGS,
      help: TARGET_HELP,
    }),
    cmd({
      name: "restart",
      summary: "stop one session's process and start it again",
      usage: "conductor restart <id>",
      flags: TARGET_FLAGS,
      help: TARGET_HELP,
    }),
    cmd({
      name: "attach",
      summary: "show a session's screen as its terminal renders it, live (read-only)",
      usage: "conductor attach <id> [--input]",
      flags: { ...TARGET_FLAGS, input: { type: "boolean" }, follow: { type: "boolean" } },
      help: `  --input           send each line you type to the session (default: read-only)
  --no-follow       print the rendered screen once and exit (the default when not on a terminal)
${TARGET_HELP}
Ctrl-C detaches; the session goes on.`,
    }),
    cmd({
      name: "stop",
      summary: "shut a running conductor down (every session stopped, log flushed)",
      usage: "conductor stop [--name NAME]",
      flags: TARGET_FLAGS,
      help: TARGET_HELP,
    }),
    cmd({
      name: "report",
      summary: "a post-mortem of a run: self-contained HTML (or --text) from its event log",
      usage: "conductor report <logsDir|events.jsonl> [-o report.html] [--text]",
      flags: {
        output: { type: "string", short: "o", hint: "a file, e.g. -o report.html" },
        text: { type: "boolean" },
        ...COLOR_FLAG,
      },
      help: `  -o, --output FILE where the HTML goes (default: report.html next to the log)
  --text            print the summary to the terminal instead
  --no-color        no colour in --text even on a terminal
The log is streamed (any size, flat memory); a torn last line is reported and skipped.`,
    }),
  ];
  return all.filter((c) => typeof c.run === "function");
}

export function commandHelp(c: Command): string {
  // The options first, -h among them; a command's closing notes (exit codes) after them. An option
  // line is indented; the first line that is not starts the notes, blank line before it or not
  // (`ls`, `send`, `attach` and `report` printed their note above -h when it split on a blank line).
  const lines = c.help.split("\n");
  const end = lines.findIndex((line) => line !== "" && !line.startsWith(" "));
  const options = (end < 0 ? lines : lines.slice(0, end)).join("\n").trimEnd();
  const notes = end < 0 ? "" : lines.slice(end).join("\n").trim();
  const rest = notes ? `\n${notes}\n` : "";
  return `${c.summary}\n\nusage: ${c.usage}\n\noptions:\n${options}\n  -h, --help        this help\n${rest}`;
}

export function mainHelp(commands: Command[], demoConfig: string): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return `conductor: supervise CLI agent sessions (codex, gemini, claude, any command)

usage: conductor <command> [options]      (conductor <command> --help for its options)

${commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join("\n")}
  ${"help".padEnd(width)}  conductor help <command>: that command's options

  conductor --version
demo config: ${demoConfig}
`;
}
