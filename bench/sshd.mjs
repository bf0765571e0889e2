// A throwaway OpenSSH server on 127.0.0.1 for the remote benchmark (same recipe as
// test/helpers/sshd.ts): generated host and user keys, key auth only, known_hosts, hosts file.
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const freePort = () =>
  new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });

const keygen = (path) => execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "conductor-bench", "-f", path]);

function childrenOf(ppid) {
  const out = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === ppid) out.push(Number(d));
    } catch {
      /* exited meanwhile */
    }
  }
  return out;
}

/** Starts sshd; resolves once it listens. `hostsFile` points a host alias at it. */
export async function startSshd() {
  const dir = mkdtempSync(join(tmpdir(), "conductor-bench-sshd-"));
  mkdirSync("/run/sshd", { recursive: true });
  keygen(join(dir, "host_ed25519"));
  keygen(join(dir, "user_ed25519"));
  writeFileSync(join(dir, "authorized_keys"), readFileSync(join(dir, "user_ed25519.pub")));
  const port = await freePort();
  const user = process.env.USER ?? "root";
  writeFileSync(
    join(dir, "sshd_config"),
    [
      `Port ${port}`,
      "ListenAddress 127.0.0.1",
      `HostKey ${join(dir, "host_ed25519")}`,
      `AuthorizedKeysFile ${join(dir, "authorized_keys")}`,
      "StrictModes no",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "UsePAM no",
      "PidFile none",
      "PermitRootLogin prohibit-password",
      "",
    ].join("\n"),
  );
  const [type, key] = readFileSync(join(dir, "host_ed25519.pub"), "utf8").split(" ");
  const knownHosts = join(dir, "known_hosts");
  writeFileSync(knownHosts, `[127.0.0.1]:${port} ${type} ${key}\n`);
  const proc = spawn("/usr/sbin/sshd", ["-D", "-e", "-f", join(dir, "sshd_config")], { stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sshd did not start: ${log}`)), 10_000);
    proc.stderr.on("data", (b) => {
      log += b;
      if (log.includes("Server listening")) (clearTimeout(timer), resolve());
    });
    proc.once("exit", (code) => (clearTimeout(timer), reject(new Error(`sshd exited ${code}: ${log}`))));
  });
  return {
    port,
    dir,
    hostsFile(name = "bench") {
      const file = join(dir, "hosts.json");
      const host = { host: "127.0.0.1", port, user: user === "root" ? "root" : user, identityFile: join(dir, "user_ed25519"), knownHosts };
      writeFileSync(file, JSON.stringify({ hosts: { [name]: host } }, null, 2));
      return file;
    },
    async stop() {
      for (const p of childrenOf(proc.pid)) {
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

/** Stops a private tmux server this process started, and removes the socket tmux 3.3 leaves. */
export function killTmuxServer(socket) {
  try {
    execFileSync("tmux", ["-L", socket, "kill-server"], { stdio: "ignore" });
  } catch {
    /* not running */
  }
  rmSync(join(process.env.TMUX_TMPDIR ?? "/tmp", `tmux-${process.getuid()}`, socket), { force: true });
}
