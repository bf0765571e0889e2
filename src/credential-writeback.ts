/**
 * An account's auth file follows the newest login its sessions' CLIs wrote. A credential home
 * holds a copy of the account's file, and the CLI in it refreshes its token into that copy: codex's
 * ChatGPT refresh tokens are single-use ("Your access token could not be refreshed because your
 * refresh token was already used", `refresh_token_reused`: openai/codex#6498, #9634, #24365), so
 * once one session refreshed, the account's own file held a spent token and every later session
 * on the account failed its refresh. claude's OAuth login is refreshed the same way into
 * `.credentials.json`. So what the CLI writes into its home goes back to the account's file: at
 * once (a watch on the home's auth file: a session may run for days while another starts on the account) and
 * when the home is disposed, atomically (a temporary file renamed over it, 0600), and only a
 * complete JSON document (a CLI caught mid-write is read again at its next write or at dispose).
 *
 * An account runs one session at a time on the machine (the broker within a conductor, a claim
 * across conductors: account-claims.ts), so each home copies the login the one before wrote back.
 */
import { randomBytes } from "node:crypto";
import { type FSWatcher, watch } from "node:fs";
import { readFile, realpath, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { parseJsonText } from "./json-file.js";

type Log = (
  event: "credential.auth_writeback" | "credential.auth_writeback_error",
  data: Record<string, unknown>,
) => void;

/** The last write-back of each account file: a new home copies the account's file only after it. */
const writes = new Map<string, Promise<void>>();

/** Resolves once every write-back to `accountFile` started so far has finished. */
export function writebacksDone(accountFile: string): Promise<void> {
  return writes.get(path.resolve(accountFile)) ?? Promise.resolve();
}

export interface AuthWritebackOptions {
  /** The auth file in the home, as the CLI sees it. */
  homeFile: string;
  /** The account's file (`authFile`), copied into the home when it was made. */
  accountFile: string;
  /** The bytes copied into the home: the CLI has written nothing new while the home file has them. */
  copied: Buffer;
  /** What the log lines name (session, provider, account); never file contents. */
  about: Record<string, unknown>;
  log?: Log;
}

export class AuthWriteback {
  readonly #o: AuthWritebackOptions;
  readonly #accountFile: string;
  #known: Buffer;
  #watcher: FSWatcher | null = null;
  #stopped = false;

  constructor(o: AuthWritebackOptions) {
    this.#o = o;
    this.#accountFile = path.resolve(o.accountFile);
    this.#known = o.copied;
  }

  /**
   * Writes back at every change of the home's file until `stop`; a file that cannot be watched (gone)
   * is synced at stop only. The file, not its folder: codex's home takes ~14 writes a second to its
   * sqlite files during a turn (measured), each a wake of this thread for nothing.
   */
  watch(): void {
    if (this.#stopped) return;
    try {
      this.#watcher = watch(this.#o.homeFile, (type) => {
        void this.sync();
        // codex writes a temporary file and renames it over auth.json: the watched inode is gone,
        // so watch the file now at the path.
        if (type === "rename") {
          this.#unwatch();
          this.watch();
        }
      });
      this.#watcher.on("error", () => this.#unwatch());
      // A home nobody disposed (an embedder that never shuts down) must not keep the process alive.
      this.#watcher.unref();
    } catch {
      this.#watcher = null;
    }
  }

  /** Stops watching and writes back what the home holds last. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#unwatch();
    await this.sync(true);
  }

  /** Copies the home's file over the account's if the CLI wrote a new, complete one. Never rejects. */
  sync(final = false): Promise<void> {
    const prev = writes.get(this.#accountFile) ?? Promise.resolve();
    const next = prev.then(() => this.#syncOnce(final));
    writes.set(this.#accountFile, next);
    void next.finally(() => {
      if (writes.get(this.#accountFile) === next) writes.delete(this.#accountFile);
    });
    return next;
  }

  async #syncOnce(final: boolean): Promise<void> {
    const bytes = await readFile(this.#o.homeFile).catch(() => null);
    // Gone (the CLI logged out) or unchanged: the account's file stays as it is.
    if (bytes === null || bytes.equals(this.#known)) return;
    try {
      parseJsonText(bytes.toString("utf8"), (why) => new Error(why));
    } catch (e) {
      if (final) this.#o.log?.("credential.auth_writeback_error", { ...this.#o.about, error: (e as Error).message });
      return;
    }
    // Through a symlink to where the login really lives (an account may point at the user's own
    // ~/.codex/auth.json): a rename over the link would cut it and leave the real file stale.
    const target = await realpath(this.#accountFile).catch(() => this.#accountFile);
    const tmp = `${target}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
    try {
      await writeFile(tmp, bytes, { mode: 0o600, flag: "wx" });
      await rename(tmp, target);
      this.#known = bytes;
      this.#o.log?.("credential.auth_writeback", { ...this.#o.about, to: target });
    } catch (e) {
      await rm(tmp, { force: true }).catch(() => undefined);
      const error = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
      this.#o.log?.("credential.auth_writeback_error", { ...this.#o.about, to: this.#accountFile, error });
    }
  }

  #unwatch(): void {
    this.#watcher?.close();
    this.#watcher = null;
  }
}
