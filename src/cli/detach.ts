/**
 * `conductor run --detach`: the same run in a background process (its own session, output in
 * `<logsDir>/conductor.out`). The parent waits until the child's control socket is up, prints
 * where it is, and returns; if the child fails first, the parent shows why.
 */
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ConfigError, loadRunConfig, type RunConfig } from "../config.js";
import { makeLogsDir } from "../conductor-options.js";
import { assertLogsDirFree } from "../survivors.js";
import { runErrorMessage } from "./run-errors.js";
import type { RunFlags } from "./run.js";
import { supervisorNodeArgs } from "./supervisor-node-flags.js";
import { runLogsDir } from "./run-logs.js";

export interface ReadyMessage {
  type: "conductor.ready";
  name: string | null;
  socket: string | null;
  logsDir: string;
  viewerUrl: string | null;
  pid: number;
}

const READY_ENV = "CONDUCTOR_DETACHED";

/** This process is a detached run (`run --detach`'s child): nobody can press Ctrl-C in it. */
export function runsDetached(): boolean {
  return process.env[READY_ENV] === "1";
}

/** In the detached child: tell the parent where the control socket is, then cut the cord. */
export function tellParentReady(info: Omit<ReadyMessage, "type" | "pid">): void {
  if (process.env[READY_ENV] !== "1" || !process.send) return;
  process.send({ type: "conductor.ready", pid: process.pid, ...info } satisfies ReadyMessage, () =>
    process.disconnect?.(),
  );
}

export async function detach(
  flags: RunFlags,
  rawArgs: string[],
  demoConfig: string,
  out = process.stdout,
  err = process.stderr,
): Promise<number> {
  let logsDir: string;
  let config: RunConfig;
  try {
    config = await loadRunConfig(flags.configPath ?? demoConfig);
    logsDir = runLogsDir(flags.logsDir ?? config.logsDir);
  } catch (e) {
    if (e instanceof ConfigError) {
      err.write(`${e.message}\n`);
      return 2;
    }
    throw e;
  }
  try {
    makeLogsDir(logsDir, logsDir); // resolved, as the foreground run gives it: a refusal says it once
    assertLogsDirFree(logsDir); // before conductor.out is opened: a refusal must not write into a live run's
  } catch (e) {
    const ctx = { config, ...(flags.configPath ? { configPath: flags.configPath } : {}) };
    err.write(
      `conductor: ${runErrorMessage(e, flags.logsDir !== undefined ? { ...ctx, logsDirFlag: flags.logsDir } : ctx)}\n`,
    );
    return 2;
  }
  const outFile = join(logsDir, "conductor.out");
  const fd = fs.openSync(outFile, "a", 0o600);
  const args = rawArgs.filter((a) => a !== "--detach");
  // The resolved logsDir, so the child writes where the parent said it would.
  const child: ChildProcess = spawn(
    process.execPath,
    // Only a supervisor runs in it: its young generation is capped (supervisor-node-flags.ts says why).
    [
      ...supervisorNodeArgs(),
      fileURLToPath(new URL("./main.js", import.meta.url)),
      "run",
      ...args,
      "--logs-dir",
      logsDir,
    ],
    { detached: true, stdio: ["ignore", fd, fd, "ipc"], env: { ...process.env, [READY_ENV]: "1" } },
  );
  fs.closeSync(fd);
  // Ctrl-C (or a TERM, a HUP) while it starts: the child is in its own session and would run on,
  // unseen (nothing printed yet). It is stopped, and what happens is said.
  let interrupted: NodeJS.Signals | null = null;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = signal;
    err.write(
      `conductor: interrupted (${signal}) while the background run was starting: stopping it (pid ${child.pid})…\n`,
    );
    try {
      child.kill("SIGTERM"); // a conductor shuts its sessions down on TERM; before its traps, TERM ends it
    } catch {
      // already gone
    }
  };
  const signals: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];
  for (const s of signals) process.on(s, onSignal);
  const ready = await new Promise<ReadyMessage | { exit: number | null }>((r) => {
    child.once("message", (m) => r(m as ReadyMessage));
    child.once("exit", (code) => r({ exit: code }));
  }).finally(() => {
    for (const s of signals) process.off(s, onSignal);
  });
  if (interrupted) {
    const code = 128 + (interrupted === "SIGINT" ? 2 : interrupted === "SIGTERM" ? 15 : 1);
    if ("exit" in ready) {
      err.write(`conductor: the background run (pid ${child.pid}) stopped; logs: ${logsDir}\n`);
      return code;
    }
    // It became ready as the signal came: it is up and shutting down on the TERM sent.
    err.write(
      `conductor: the background run "${ready.name}" (pid ${ready.pid}) was ready as the signal came; ` +
        `it was sent TERM and is shutting down (if not: conductor stop --name ${ready.name})\n`,
    );
    child.unref();
    child.channel?.unref?.();
    return code;
  }
  if ("exit" in ready) {
    const tail = fs.readFileSync(outFile, "utf8").split("\n").slice(-20).join("\n");
    err.write(`conductor: the detached run exited (code ${ready.exit}) before it was ready:\n${tail}\n`);
    return ready.exit === 2 ? 2 : 1;
  }
  child.unref();
  child.channel?.unref?.();
  out.write(
    `conductor "${ready.name}" is running in the background (pid ${ready.pid})\n` +
      `  control socket: ${ready.socket}\n  logs: ${ready.logsDir} (its own output: ${outFile})\n` +
      (ready.viewerUrl ? `  viewer: ${ready.viewerUrl}\n` : "") +
      `  conductor ls --name ${ready.name}    conductor stop --name ${ready.name}\n`,
  );
  return 0;
}
