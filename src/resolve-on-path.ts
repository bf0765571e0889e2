/**
 * PATH lookup the way a shell does it, for the launcher: a wrapper placed first on PATH wins, and
 * a name that is not found says which directories were searched and what to do.
 */
import { accessSync, constants, statSync } from "node:fs";
import { access, stat } from "node:fs/promises";
import { homedir } from "node:os";
import path from "node:path";
import { LaunchError } from "./presets/types.js";

/** What a POSIX shell falls back to when PATH is unset. */
const DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin";

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Where a shell would look for `name`: a name containing `/` is used as is (relative to `cwd`),
 * otherwise each PATH entry in order. Empty and relative PATH entries (a shell reads "" as ".")
 * are skipped on purpose: running whatever sits in the current directory is a classic hijack.
 */
function candidates(name: string, env: Env, cwd: string): { files: string[]; notFound: () => LaunchError } {
  if (name.includes("/")) {
    const full = path.resolve(cwd, name);
    return {
      files: [full],
      notFound: () =>
        new LaunchError(
          "BIN_NOT_FOUND",
          `"${name}" (${full}) does not exist or is not an executable file; check the path and run chmod +x on it`,
        ),
    };
  }
  const dirs = (env.PATH ?? DEFAULT_PATH).split(path.delimiter).filter((d) => d !== "" && path.isAbsolute(d));
  return {
    files: dirs.map((dir) => path.join(dir, name)),
    notFound: () =>
      new LaunchError(
        "BIN_NOT_FOUND",
        `"${name}" was not found on PATH (${shortPath(dirs)}); install it, put a wrapper named "${name}" ` +
          `in a directory on PATH, or give its full path`,
      ),
  };
}

/** Resolves a command name like a shell would; only existing, executable regular files count. */
export async function resolveOnPath(
  name: string,
  env: Env = process.env,
  cwd: string = process.cwd(),
): Promise<string> {
  const { files, notFound } = candidates(name, env, cwd);
  for (const file of files) if (await isExecutableFile(file)) return file;
  throw notFound();
}

export function resolveOnPathSync(name: string, env: Env = process.env, cwd: string = process.cwd()): string {
  const { files, notFound } = candidates(name, env, cwd);
  for (const file of files) {
    // Most PATH entries do not hold the name: a missing file is not an exception here (building one
    // per miss was most of a lookup's cost, ~4× the stat itself; issue 13).
    const st = statOrNull(file);
    if (!st?.isFile()) continue;
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not executable: next PATH entry
    }
  }
  throw notFound();
}

/** `stat`, or null where there is nothing to run (no entry, a dangling link, a path through a file). */
function statOrNull(file: string) {
  try {
    return statSync(file, { throwIfNoEntry: false }) ?? null;
  } catch {
    return null; // ENOTDIR, EACCES, ELOOP: not here either
  }
}

async function isExecutableFile(file: string): Promise<boolean> {
  try {
    if (!(await stat(file)).isFile()) return false;
    await access(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** At most 4 directories, home shown as ~, so the error stays one readable line. */
function shortPath(dirs: readonly string[]): string {
  if (dirs.length === 0) return "PATH is empty";
  const home = homedir();
  const shown = dirs.slice(0, 4).map((d) => (home && d.startsWith(`${home}/`) ? `~${d.slice(home.length)}` : d));
  const more = dirs.length > 4 ? `, … ${dirs.length - 4} more` : "";
  return `searched ${shown.join(":")}${more}`;
}
