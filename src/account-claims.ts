/**
 * Machine-wide claims on accounts. The broker leases an account to one session at a time, but only
 * within its conductor; conductors that share a broker state file share its cool-downs, and here
 * also who runs on an account right now. Two sessions on one login at once spend one plan's limits
 * twice, and refresh tokens are single-use (codex's ChatGPT login: openai/codex#6498; claude's
 * OAuth login: anthropics/claude-code#25609, #48786): the second to refresh fails, its copy of the
 * token already spent by the first.
 *
 * A claim is a lock file per account in `<state file>.claims/` (lock-file.ts: O_EXCL, the holder's
 * pid and start time; a claim whose process is gone is taken over). It is taken before a session's
 * credential home is made and given up after the home's dispose, so the next holder copies the
 * login the last one wrote back.
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { ConductorError } from "../machines/conductor-error.js";
import { type LockHolder, tryLock } from "./lock-file.js";

export interface ClaimOwner {
  sessionId: string;
  leaseId: string;
}

export type ClaimAttempt =
  | { claimed: true; release: () => Promise<void> }
  | { claimed: false; holder: LockHolder | null; message: string };

export interface AccountClaims {
  readonly dir: string;
  /** One attempt: the account is claimed for `owner`, or held by a live process (which one, in words). */
  claim(provider: string, accountId: string, owner: ClaimOwner): Promise<ClaimAttempt>;
}

/** The lock file's name: provider and id, neither of which may leave the folder. */
export const claimFileName = (provider: string, accountId: string) =>
  `${encodeURIComponent(provider)}.${encodeURIComponent(accountId)}.lock`;

export function createAccountClaims(stateFile: string): AccountClaims {
  const dir = `${stateFile}.claims`;
  const fail = (message: string) => new ConductorError(message, { code: "CREDENTIALS" });
  return {
    dir,
    async claim(provider, accountId, owner) {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const attempt = await tryLock(join(dir, claimFileName(provider, accountId)), fail, { ...owner });
      if (attempt.held) return { claimed: true, release: attempt.release };
      const h = attempt.holder;
      const session = typeof h?.note?.sessionId === "string" ? `, session ${h.note.sessionId}` : "";
      const who = h
        ? `process ${h.pid}${session}, since ${new Date(h.at).toISOString()}`
        : "a process that is still writing its claim";
      return {
        claimed: false,
        holder: h,
        message: `account ${provider}/${accountId} is in use by another conductor (${who})`,
      };
    },
  };
}
