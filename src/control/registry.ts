/**
 * Where running conductors can be found: one small JSON entry per conductor, by name, in a
 * per-user directory (`$XDG_RUNTIME_DIR/statechart-conductor`, else `<tmpdir>/statechart-conductor-<uid>`),
 * 0700 and owned by us. The socket itself lives in `logsDir` when its path fits a sockaddr_un.
 */
import fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isProcessAlive } from "../../actors/process-identity.js";

export interface RegistryEntry {
  name: string;
  pid: number;
  /** The process's start time (/proc stat field 22): a recycled pid is not the same conductor. */
  pidStart?: string | null;
  socket: string;
  logsDir: string;
  startedAt: string;
  version: string;
  /** The viewer's URL (with its token) when `--inspect` serves one. */
  viewerUrl?: string;
  /**
   * Set by `listConductors` (never written): the process is alive but its control socket file is
   * gone (removed under it), so nothing can reach it through the socket.
   */
  socketMissing?: boolean;
}

/** sun_path is 108 bytes on Linux (104 on macOS); keep a margin for the NUL. */
const MAX_SOCKET_PATH = 100;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function checkName(name: string): string {
  if (!NAME.test(name))
    throw new Error(
      `conductor name ${JSON.stringify(name)} is not allowed: use 1-64 letters, digits, ".", "_" or "-" ` +
        `starting with a letter or digit (e.g. --name nightly)`,
    );
  return name;
}

export function registryDir(env: NodeJS.ProcessEnv = process.env): string {
  const uid = process.getuid?.() ?? 0;
  return env.XDG_RUNTIME_DIR
    ? join(env.XDG_RUNTIME_DIR, "statechart-conductor")
    : join(tmpdir(), `statechart-conductor-${uid}`);
}

/** Creates the directory 0700, and refuses one another user owns or others can write (a shared /tmp). */
export function ensureRegistryDir(env: NodeJS.ProcessEnv = process.env): string {
  const dir = registryDir(env);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = fs.lstatSync(dir);
  const uid = process.getuid?.();
  if (!st.isDirectory() || (uid !== undefined && st.uid !== uid) || (st.mode & 0o022) !== 0)
    throw new Error(
      `${dir} must be a directory owned by you and writable only by you (it lists your conductors' sockets); ` +
        `remove it or set XDG_RUNTIME_DIR to a private directory`,
    );
  return dir;
}

export function socketPathFor(logsDir: string, name: string, env: NodeJS.ProcessEnv = process.env): string {
  const inLogs = join(logsDir, "control.sock");
  if (Buffer.byteLength(inLogs) <= MAX_SOCKET_PATH) return inLogs;
  const fallback = join(ensureRegistryDir(env), `${name}.sock`);
  if (Buffer.byteLength(fallback) > MAX_SOCKET_PATH)
    throw new Error(
      `no room for the control socket: ${inLogs} and ${fallback} are longer than ${MAX_SOCKET_PATH} bytes ` +
        `(a Unix socket path limit); use a shorter logsDir or XDG_RUNTIME_DIR`,
    );
  return fallback;
}

/** Where the entries of conductors that died without their shutdown wait for `conductor ls` to say so. */
const GONE_DIR = "gone";

/**
 * Live entries, oldest first; entries of processes that are gone (no shutdown removed them: killed,
 * crashed) are moved aside on the way, for `ls` to say once (takeGoneConductors). A live
 * process whose socket file is missing is kept, marked `socketMissing`: it and its agents still run,
 * and dropping it hid them from `ls` and `stop` (found by an operator review).
 */
export function listConductors(env: NodeJS.ProcessEnv = process.env): RegistryEntry[] {
  const dir = registryDir(env);
  const out: RegistryEntry[] = [];
  for (const { file, entry } of readEntries(dir)) {
    // Liveness from /proc with the start time, not kill(pid, 0): that says yes to a recycled pid.
    if (!isProcessAlive(entry.pid, entry.pidStart ?? null)) moveAside(dir, file);
    else if (fs.existsSync(entry.socket)) out.push(entry);
    else out.push({ ...entry, socketMissing: true });
  }
  return out.sort((a, b) => a.startedAt.localeCompare(b.startedAt));
}

/** The entries in `dir` with their file names; a half-written or foreign file is not ours to interpret. */
function readEntries(dir: string): { file: string; entry: RegistryEntry }[] {
  let files: string[];
  try {
    files = fs.readdirSync(dir).filter((f) => f.endsWith(".json"));
  } catch {
    return [];
  }
  return files.flatMap((file) => {
    try {
      return [{ file, entry: JSON.parse(fs.readFileSync(join(dir, file), "utf8")) as RegistryEntry }];
    } catch {
      return [];
    }
  });
}

/** A dead conductor's entry into `gone/` (removed if that fails: it must not be listed as running). */
function moveAside(dir: string, file: string): void {
  try {
    fs.mkdirSync(join(dir, GONE_DIR), { recursive: true, mode: 0o700 });
    fs.renameSync(join(dir, file), join(dir, GONE_DIR, file.replace(/\.json$/, `.${Date.now()}.json`)));
  } catch {
    fs.rmSync(join(dir, file), { force: true });
  }
}

/**
 * Conductors that died without their shutdown since this was last asked (a killed `run --detach`:
 * before, `ls` said only "no conductor is running", and nothing anywhere said it had been killed);
 * each is said once: its entry goes as it is read. Oldest first.
 */
export function takeGoneConductors(env: NodeJS.ProcessEnv = process.env): RegistryEntry[] {
  listConductors(env); // moves the dead ones aside first
  const dir = join(registryDir(env), GONE_DIR);
  const gone = readEntries(dir);
  for (const { file } of gone) fs.rmSync(join(dir, file), { force: true });
  return gone.map((g) => g.entry).sort((a, b) => a.startedAt.localeCompare(b.startedAt));
}

/** `base`, or `base-2`, `base-3`… when a live conductor already has the name. */
export function freeName(base: string, env: NodeJS.ProcessEnv = process.env): string {
  const taken = new Set(listConductors(env).map((e) => e.name));
  if (!taken.has(base)) return base;
  for (let i = 2; ; i++) if (!taken.has(`${base}-${i}`)) return `${base}-${i}`;
}

/**
 * `name` for a conductor asked for by that name: refused while a live conductor has it. Its entry
 * would be overwritten, and the first conductor would vanish from `ls` and `stop` while it and its
 * agents ran on (found by a field review: two `--detach --name x`, then `stop`).
 */
export function claimName(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const holder = listConductors(env).find((e) => e.name === checkName(name));
  if (holder)
    throw new Error(
      `a conductor named "${name}" is already running (pid ${holder.pid}, logs ${holder.logsDir}); ` +
        `pick another name (--name), or stop it first: conductor stop --name ${name}`,
    );
  return name;
}

export function writeEntry(entry: RegistryEntry, env: NodeJS.ProcessEnv = process.env): string {
  const dir = ensureRegistryDir(env);
  const file = join(dir, `${checkName(entry.name)}.json`);
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(entry)}\n`, { mode: 0o600 });
  fs.renameSync(tmp, file);
  return file;
}

export function removeEntry(file: string, pid = process.pid): void {
  try {
    const entry = JSON.parse(fs.readFileSync(file, "utf8")) as RegistryEntry;
    if (entry.pid === pid) fs.rmSync(file, { force: true });
  } catch {
    // Already gone.
  }
}

/** The conductor to talk to: by name, or the only one running. */
export function resolveConductor(name: string | undefined, env: NodeJS.ProcessEnv = process.env): RegistryEntry {
  const all = listConductors(env);
  if (name !== undefined) {
    const found = all.find((e) => e.name === name);
    if (found) return reachable(found);
    throw new Error(
      all.length === 0
        ? `no conductor named "${name}" is running (none is; start one with "conductor run")`
        : `no conductor named "${name}" is running; running: ${all.map((e) => e.name).join(", ")}`,
    );
  }
  if (all.length === 1) return reachable(all[0] as RegistryEntry);
  if (all.length === 0)
    throw new Error(
      `no conductor is running for this user (start one with "conductor run" or "conductor run --detach")`,
    );
  throw new Error(
    `${all.length} conductors are running (${all.map((e) => e.name).join(", ")}): pick one with --name NAME`,
  );
}

/** What to say of a conductor that is alive but has no socket file (its `socketMissing`). */
export function socketMissingMessage(e: RegistryEntry): string {
  return (
    `conductor "${e.name}": pid ${e.pid} alive, control socket missing (${e.socket} is gone); ` +
    `it cannot be reached: stop it with kill -TERM ${e.pid} (it shuts its sessions down)`
  );
}

function reachable(e: RegistryEntry): RegistryEntry {
  if (e.socketMissing) throw new Error(socketMissingMessage(e));
  return e;
}
