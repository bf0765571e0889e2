/**
 * What the CLI does when the reader of its stdout goes away (`conductor ls | head -1`). Node ignores
 * SIGPIPE, so the next write fails with EPIPE, and an 'error' nobody listens to ends the process with
 * a stack trace: in a `run`, before its shutdown was logged (a field review). A listing or a log is
 * over once nobody reads it; a run is not: its agents' work goes on, unprinted, until it ends or is
 * stopped (Ctrl-C, `conductor stop`), and its event log has every line it would have printed.
 */
export function whenStdoutCloses(command: string, stdout: NodeJS.WriteStream = process.stdout): void {
  let told = false;
  // Said once per kind: a stdout on a full disk fails every line a run prints (a field review saw
  // 55 identical lines on stderr in 10 s, without bound over a run of days).
  const failures = new Set<string | undefined>();
  stdout.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code !== "EPIPE") {
      if (failures.has(err.code)) return;
      failures.add(err.code);
      process.stderr.write(`conductor ${command}: cannot write to stdout: ${err.message} (said once)\n`);
      return;
    }
    if (command !== "run") process.exit(process.exitCode ?? 0);
    if (told) return;
    told = true;
    process.stderr.write(
      "conductor run: stdout was closed; the run goes on without printing (its event log has every line); " +
        "stop it with Ctrl-C or `conductor stop`\n",
    );
  });
}
