/**
 * What the conductor and its spawn helper say to each other (spawn-helper.ts), the same for both of
 * its programs (Perl, spawn-helper-perl.ts; Node, spawn-helper-program.ts), so that neither needs a
 * JSON parser: Debian's perl-base, which every Debian system has, carries none.
 *
 * A request is a list of NUL-terminated fields (execve(2) takes no NUL in a path, an argument or an
 * environment entry, so none can end a field early): `id`, `tty`, `cwd`, `file`, the count of
 * arguments and the arguments, the count of environment entries and the `NAME=value` entries.
 * Answers are lines: `ready` once, when it reads; then `pid <id> <pid>` once the child runs, or
 * `error <id> <message>` when it could not be started; then `exit <id> <code|-> <signal name|->`.
 */

export interface HelperSpawn {
  /** The pty slave's path; the conductor holds its master. */
  tty: string;
  file: string;
  args: readonly string[];
  cwd: string;
  env: Readonly<Record<string, string>>;
}

export interface HelperExit {
  code: number | null;
  signal: string | null;
  /** Set when the helper died: the child died with it (pdeathsig) and this is why. */
  lost?: string;
}

export interface HelperAnswer {
  id: number;
  ready?: boolean;
  pid?: number;
  error?: string;
  exit?: HelperExit;
}

/** The request's bytes, or why it cannot be made (a NUL byte, an environment name with `=`). */
export function encodeRequest(id: number, req: HelperSpawn): string {
  const env = Object.entries(req.env).map(([name, value]) => {
    if (name === "" || name.includes("=")) throw new Error(`environment name ${JSON.stringify(name)} is not valid`);
    return `${name}=${value}`;
  });
  const fields = [String(id), req.tty, req.cwd, req.file, String(req.args.length), ...req.args];
  fields.push(String(env.length), ...env);
  // Node's own spawn says the same of these: ERR_INVALID_ARG_VALUE "must be a string without null bytes".
  if (fields.some((f) => f.includes("\0"))) throw new Error("a path, argument or environment entry has null bytes");
  return `${fields.join("\0")}\0`;
}

/** One answer line, or undefined for a line this protocol does not have. */
export function decodeAnswer(line: string): HelperAnswer | undefined {
  if (line === "ready") return { id: 0, ready: true };
  const m = /^(pid|error|exit) (\d+) (.*)$/.exec(line);
  if (!m) return undefined;
  const id = Number(m[2]);
  const rest = m[3] as string;
  if (m[1] === "pid") return { id, pid: Number(rest) };
  if (m[1] === "error") return { id, error: rest };
  const [code, signal] = rest.split(" ");
  return {
    id,
    exit: {
      code: code === "-" || code === undefined ? null : Number(code),
      signal: signal && signal !== "-" ? signal : null,
    },
  };
}
