/**
 * The effects around the broker statechart that the facade provides: the accounts file, the
 * shared state file (cool-downs and open circuits survive restarts and are shared between
 * conductors), per-session credential homes, and the vault that keeps leased secrets out of
 * every snapshot (sessions and pty actors only pass an opaque `envRef`).
 */
import type { LeasedEnv } from "../actors/pty-spawn.js";
import { type Stats, unwatchFile, watchFile } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { type AnyActorRef, fromCallback } from "xstate";
import type { BrokerEmitted, BrokerInput, Lease } from "../machines/broker.machine.js";
import type { CredentialHomeInput, LeaseEvent } from "../machines/session.lease.js";
import {
  type AccountsConfig,
  brokerInputOf,
  checkedAccountsConfig,
  loadAccountsConfigSync,
  resolveLease,
} from "./accounts-config.js";
import { createAccountClaims } from "./account-claims.js";
import { applyBrokerEvent, createBrokerStore, persistsBrokerEvent, syncEventOf } from "./broker-store.js";
import { createCredentialHome, type CredentialHome, sweepStaleCredentialHomes } from "./credential-home.js";
import { snakeCase } from "./event-log-format.js";

export interface BrokerRuntimeOptions {
  /** Path of an accounts file, its JSON content (`{ providers: ... }`), or `parseAccountsConfig`'s result. */
  accounts: string | AccountsConfig | { providers: unknown };
  /** Shared state file; default `<accounts file>.state.json`, or `<logsDir>/broker-state.json`. */
  stateFile?: string;
  /** Where per-session credential homes are made (0700); default a per-user dir in the temp dir. */
  credentialsDir?: string;
  logsDir: string;
  log: (event: string, data: Record<string, unknown>) => void;
  /** An account another conductor runs on is tried again after this long (it cools meanwhile). */
  heldElsewhereRecheckMs?: number;
  /** How often the state file is checked for other conductors' changes (default 1 s). */
  stateRecheckMs?: number;
  /**
   * The shared state (state file, claims) could not be read or written: cool-downs are not kept and
   * claims not shared until it can be. Logged as `broker.io_error` too.
   */
  onIoError?: (error: string) => void;
}

/** How often the shared state file is looked at for other conductors' cool-downs (a stat). */
export const STATE_RECHECK_MS = 1_000;

/** How often a session asks again for an account another conductor holds (a claim check is a file open). */
export const HELD_ELSEWHERE_RECHECK_MS = 15_000;

type Log = BrokerRuntimeOptions["log"];

export function createBrokerRuntime(opts: BrokerRuntimeOptions) {
  const config = accountsOf(opts.accounts);
  const stateFile = resolve(
    opts.stateFile ??
      (typeof opts.accounts === "string"
        ? `${resolve(opts.accounts)}.state.json`
        : join(opts.logsDir, "broker-state.json")),
  );
  const credentialsDir = resolve(
    opts.credentialsDir ?? join(tmpdir(), `statechart-conductor-${process.getuid?.() ?? "user"}`, "credentials"),
  );
  const store = createBrokerStore(stateFile);
  const claims = createAccountClaims(stateFile);
  const heldElsewhereRecheckMs = opts.heldElsewhereRecheckMs ?? HELD_ELSEWHERE_RECHECK_MS;
  const vault = new Map<string, LeasedEnv>();
  /**
   * `provider/id` → the run of this conductor that holds the account's claim, until it has given it
   * up (its home's dispose, then the claim). Set when it claims, not when it stops: the broker grants
   * the next lease at the last one's RELEASE, before that run's home is stopped, and the next run
   * claiming meanwhile found the claim held by this very process ("in use by another conductor"),
   * then waited 15 s (a field review).
   */
  const holders = new Map<string, Promise<unknown>>();
  const pending = new Set<Promise<unknown>>();
  const ioError = (error: string) => {
    opts.log("broker.io_error", { error });
    opts.onIoError?.(error);
  };
  const errorText = (err: unknown) => String((err as Error)?.message ?? err);
  const track = (p: Promise<unknown>) => {
    const q = p.catch((err: unknown) => ioError(errorText(err)));
    pending.add(q);
    void q.finally(() => pending.delete(q));
  };

  const credentialHome = fromCallback<LeaseEvent, CredentialHomeInput>(({ input, sendBack }) => {
    const ref = `${input.sessionId}#${input.generation}`;
    let home: CredentialHome | undefined;
    let release: (() => Promise<void>) | undefined;
    let stopped = false;
    let giveUp: (done?: unknown) => void = () => undefined;
    /** Settles once this run has given the account up (or never held it). */
    const given = new Promise((r) => {
      giveUp = r;
    });
    const ready = (async () => {
      try {
        // First the machine-wide claim: no home (no copy of the login) while another conductor runs on it.
        const { provider, accountId, leaseId } = input.lease;
        // The broker frees an account at its release, while the last run's home still goes: not "elsewhere".
        // Bounded: a holder whose run never ends its tree keeps it; then the claim says so (CREDENTIALS.BUSY),
        // and the session's own bound on waiting for an account applies.
        const key = `${provider}/${accountId}`;
        const holder = holders.get(key);
        if (holder) await Promise.race([holder, new Promise((r) => setTimeout(r, heldElsewhereRecheckMs).unref())]);
        if (stopped) return;
        // A folder the claim cannot be written in is what a state file there would be: logged, not fatal.
        const claim = await claims.claim(provider, accountId, { sessionId: input.sessionId, leaseId }).catch((err) => {
          ioError(`no claim on ${provider}/${accountId}: ${errorText(err)}`);
          return null;
        });
        if (claim && !claim.claimed) {
          opts.log("broker.held_elsewhere", {
            provider,
            accountId,
            sessionId: input.sessionId,
            holderPid: claim.holder?.pid ?? null,
            retryAfterMs: heldElsewhereRecheckMs,
          });
          if (!stopped)
            sendBack({ type: "CREDENTIALS.BUSY", message: claim.message, retryAfterMs: heldElsewhereRecheckMs });
          return;
        }
        release = claim?.release;
        holders.set(key, given);
        if (stopped) return;
        const lease = resolveLease(input.lease as unknown as Lease, config, process.env);
        home = await createCredentialHome({
          sessionId: input.sessionId,
          agent: input.agent,
          lease,
          baseDir: credentialsDir,
          ...(input.cwd ? { workdir: input.cwd } : {}),
          log: opts.log,
        });
        if (stopped) return void (await home.dispose());
        vault.set(ref, { set: home.env, unset: home.unset });
        sendBack({ type: "CREDENTIALS.READY", envRef: ref, ...(home.profile ? { profile: home.profile } : {}) });
      } catch (err) {
        if (!stopped) sendBack({ type: "CREDENTIALS.ERROR", message: String((err as Error)?.message ?? err) });
      }
    })();
    track(ready);
    return () => {
      stopped = true;
      vault.delete(ref);
      // The claim outlives the home: the next holder copies the login this one wrote back.
      const key = `${input.lease.provider}/${input.lease.accountId}`;
      const done = ready.then(() => home?.dispose()).finally(() => release?.());
      void done
        .catch(() => undefined)
        .finally(() => {
          if (holders.get(key) === given) holders.delete(key);
          giveUp();
        });
      track(done);
    };
  });

  let stopWatching: () => void = () => undefined;
  /** Log every broker event (no secrets in them) and persist cool-downs and circuits. */
  function attach(broker: AnyActorRef | undefined, log: Log = opts.log): void {
    if (!broker) return;
    track(sweepStaleCredentialHomes(credentialsDir));
    // Synchronously: a session spawned right after creation must not lease an account the file says is cooling.
    try {
      broker.send(syncEventOf(store.loadSync(), Date.now()));
    } catch (err) {
      ioError(errorText(err));
    }
    broker.on("*", (e: BrokerEmitted) => {
      const { type, ...data } = e as BrokerEmitted & Record<string, unknown>;
      log(`broker.${snakeCase(type)}`, data);
      if (persistsBrokerEvent(e)) track(store.update((s) => applyBrokerEvent(s, e)));
    });
    // Other conductors' cool-downs and open circuits, as they write them (a field review: the file
    // was read only here, and an account another conductor had just found rate-limited was leased
    // again). The file is only ever replaced whole, so a changed inode or mtime is a new state; a
    // SYNC only ever extends what the broker knows, so our own writes coming back change nothing.
    const onChange = (now: Stats, before: Stats) => {
      if (now.ino === before.ino && now.mtimeMs === before.mtimeMs) return;
      track(store.load().then((state) => broker.send(syncEventOf(state, Date.now()))));
    };
    watchFile(stateFile, { interval: opts.stateRecheckMs ?? STATE_RECHECK_MS, persistent: false }, onChange);
    stopWatching = () => unwatchFile(stateFile, onChange);
  }

  return {
    brokerInput: brokerInputOf(config, Date.now) as BrokerInput,
    credentialHome,
    envFor: (ref: string) => vault.get(ref),
    attach,
    stateFile,
    /** Resolves when every state-file write and credential-home removal has finished; stops watching the file. */
    settle: async () => {
      stopWatching();
      while (pending.size > 0) await Promise.all([...pending]);
    },
  };
}

export type BrokerRuntime = ReturnType<typeof createBrokerRuntime>;

/** Validated accounts, whichever form they came in (a file is read once, synchronously, at creation). */
function accountsOf(accounts: BrokerRuntimeOptions["accounts"]): AccountsConfig {
  if (typeof accounts === "string") return loadAccountsConfigSync(accounts);
  return checkedAccountsConfig(accounts, "the accounts option", process.cwd());
}
