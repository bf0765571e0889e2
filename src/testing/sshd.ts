/**
 * A throwaway OpenSSH server on 127.0.0.1 for remote-session tests (ours, the bench, and users' own): generated host and
 * user keys, its own config, known_hosts and hosts file in a temp dir. Key auth only.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { promisify } from "node:util";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";

export interface TestSshd {
  port: number;
  dir: string;
  pid: number;
  userKey: string;
  /** The user it lets in (with `userKey`): whoever runs it, since an sshd that is not root can log in no one else. */
  user: string;
  knownHosts: string;
  /** `[127.0.0.1]:port ssh-ed25519 AAAA...` */
  knownHostsLine: string;
  /** Writes a hosts file with one host `name` pointing here; returns its path. */
  hostsFile(name?: string, extra?: Record<string, unknown>): string;
  /** pids of the per-connection sshd processes (children of the listener). */
  connectionPids(): number[];
  /** SIGKILL every per-connection process: each client sees its TCP connection drop. */
  dropConnections(): number[];
  logs(): string;
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === "object" && addr ? resolve(addr.port) : reject(new Error("no port"))));
    });
  });
}

const run = promisify(execFile);
const keygen = (path: string) =>
  run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "conductor-test", "-f", path]);

function descendantsOf(ppid: number): number[] {
  const kids = childrenOf(ppid);
  return [...kids, ...kids.flatMap(descendantsOf)];
}

function childrenOf(ppid: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      // Fields after the command name (which may hold spaces) start after the last ')'.
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[1]) === ppid) out.push(Number(d));
    } catch {
      /* exited meanwhile */
    }
  }
  return out;
}

export interface StartSshdOptions {
  /**
   * More variables for the sessions it starts (sshd's `SetEnv`), e.g. `TMUX_TMPDIR` to put the remote
   * tmux server's socket somewhere else. A value may hold blanks and quotes, never a newline or `"`.
   */
  env?: Record<string, string>;
}

export async function startSshd(options: StartSshdOptions = {}): Promise<TestSshd> {
  const extraEnv = Object.entries(options.env ?? {}).map(([k, v]) => {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k) || /["\n\\]/.test(v))
      throw new TypeError(
        `startSshd: env ${JSON.stringify(k)}: a name of letters, digits and _, a value without newline, " or \\`,
      );
    return ` "${k}=${v}"`;
  });
  const dir = mkdtempSync(join(tmpdir(), "conductor-sshd-"));
  try {
    mkdirSync("/run/sshd", { recursive: true }); // privilege separation directory (sshd as root)
  } catch {
    /* not root: sshd then runs without privilege separation, and needs none */
  }
  // The test user's HOME: an empty directory, so the login shell runs no rc files (root's ~/.bashrc
  // on this machine runs `pyenv init`, 4–7 s per ssh exec under load). sshd applies SetEnv after
  // its own HOME; bash finds ~/.bashrc through $HOME.
  const home = join(dir, "home");
  mkdirSync(home);
  await Promise.all([keygen(join(dir, "host_ed25519")), keygen(join(dir, "user_ed25519"))]);
  writeFileSync(join(dir, "authorized_keys"), readFileSync(join(dir, "user_ed25519.pub")));
  const port = await freePort();
  const config = [
    `Port ${port}`,
    "ListenAddress 127.0.0.1",
    `HostKey ${join(dir, "host_ed25519")}`,
    `AuthorizedKeysFile ${join(dir, "authorized_keys")}`,
    "StrictModes no",
    "PubkeyAuthentication yes",
    "PasswordAuthentication no",
    "KbdInteractiveAuthentication no",
    "UsePAM no",
    "PidFile none",
    "PermitRootLogin prohibit-password",
    "LogLevel INFO",
    "MaxStartups 50",
    // One line: sshd takes only the first SetEnv it reads.
    `SetEnv HOME=${home}${extraEnv.join("")}`,
  ].join("\n");
  writeFileSync(join(dir, "sshd_config"), `${config}\n`);
  const hostPub = readFileSync(join(dir, "host_ed25519.pub"), "utf8").trim().split(" ");
  const knownHostsLine = `[127.0.0.1]:${port} ${hostPub[0]} ${hostPub[1]}`;
  const knownHosts = join(dir, "known_hosts");
  writeFileSync(knownHosts, `${knownHostsLine}\n`);

  const proc: ChildProcess = spawn("/usr/sbin/sshd", ["-D", "-e", "-f", join(dir, "sshd_config")], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let log = "";
  await new Promise<void>((resolve, reject) => {
    // A safety net only: "Server listening" is the event waited for; a loaded machine can take seconds.
    const timer = setTimeout(() => reject(new Error(`sshd did not start within 60 s: ${log}`)), 60_000);
    proc.stderr?.on("data", (b: Buffer) => {
      log += b.toString();
      if (!log.includes("Server listening")) return;
      clearTimeout(timer);
      resolve();
    });
    proc.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`sshd exited ${code}: ${log}`));
    });
  });
  const pid = proc.pid;
  if (pid === undefined) throw new Error("sshd: spawn gave no pid");
  const user = userInfo().username;
  return {
    port,
    dir,
    pid,
    userKey: join(dir, "user_ed25519"),
    user,
    knownHosts,
    knownHostsLine,
    hostsFile(name = "test", extra = {}) {
      const file = join(dir, `hosts-${name}.json`);
      const host = {
        host: "127.0.0.1",
        port,
        user,
        identityFile: join(dir, "user_ed25519"),
        knownHosts,
        ...extra,
      };
      writeFileSync(file, JSON.stringify({ hosts: { [name]: host } }, null, 2));
      return file;
    },
    connectionPids: () => childrenOf(pid),
    dropConnections() {
      const pids = childrenOf(pid);
      // Their children too: an sshd that is not root runs each session in a child that holds the
      // connection's socket as well, and outlives its parent's SIGKILL.
      for (const p of [...pids, ...pids.flatMap(descendantsOf)]) {
        try {
          process.kill(p, "SIGKILL");
        } catch {
          /* gone */
        }
      }
      return pids;
    },
    logs: () => log,
    async stop() {
      for (const p of descendantsOf(pid)) {
        try {
          process.kill(p, "SIGKILL");
        } catch {
          /* gone */
        }
      }
      if (proc.exitCode === null) {
        const exited = new Promise((r) => proc.once("exit", r));
        proc.kill("SIGTERM");
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Kill a private tmux server the tests started on this machine (the "remote" host is local). */
export async function killTmuxServer(socket: string): Promise<void> {
  await run("tmux", ["-L", socket, "kill-server"]).catch(() => undefined); // no server running
  // tmux 3.3 leaves its socket file behind.
  rmSync(join(process.env.TMUX_TMPDIR ?? "/tmp", `tmux-${process.getuid?.() ?? 0}`, socket), { force: true });
}
