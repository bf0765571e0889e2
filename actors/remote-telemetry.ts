/**
 * The telemetry probe of a remote session: gemini writes its telemetry file on the host the run is
 * on, so the file is read there, over the host's SSH connection. One `exec` per host and poll reads
 * every file watched on that host: an exec costs the host a shell (~140 ms with a login's rc files,
 * field-facts.md) and holds one of the connection's channels while it runs (sshd's MaxSessions is 10,
 * the tmux control client takes one), so one per file and tick would not scale to many sessions.
 *
 * Each run has a file of its own (src/presets/gemini-telemetry.ts, remoteTelemetryRunFile): what a
 * watch finds is its own run's, read from the top. The first poll makes it exclusively (not through
 * a link, not over anything there) and private (umask 077), normally long before gemini opens it (its
 * start takes seconds, and a host still connecting is waited for); where gemini made it first, the
 * poll makes it 0600. Only a regular file of our own, not a link, is read, made private or cut: on a
 * shared host anything else at the path is another user's, and no verdict. The script goes over the
 * exec's stdin, so the names are on no command line (ps). Reads are byte ranges past the last read
 * (`tail -c | head -c`); the exec's output comes back decoded as UTF-8, and a range cut inside a
 * character (a record still being written) costs at most that record.
 */
import { randomBytes } from "node:crypto";
import type { AgentTelemetryInput } from "../machines/session.types.js";
import type { TelemetryWatch } from "./agent-telemetry.js";
import { shQuote } from "./shell-quote.js";
import type { SshHost } from "./ssh-host.js";
import { type TelemetryApiError, TelemetryText } from "./telemetry-records.js";

export interface RemoteTelemetryOptions {
  /** How often a host's files are read (ms): an exec each time, so not as often as a local file. */
  pollMs?: number;
  /** Cut a file back to empty once it is read past this size (bytes). */
  maxBytes?: number;
  /** One poll's exec gives up after this long (ms); the next poll tries again. */
  execTimeoutMs?: number;
}

const DEFAULTS = { pollMs: 2_000, maxBytes: 1024 * 1024, execTimeoutMs: 15_000 };
const MAX_REMOVAL_RETRIES = 30;

type ExecHost = Pick<SshHost, "exec"> & Partial<Pick<SshHost, "whenConnected">>;

interface Watched {
  path: string;
  /** Bytes read so far. */
  offset: number;
  text: TelemetryText;
  found: (errors: TelemetryApiError[]) => void;
}

/** A host's watched files and the one poll that reads them all. */
class HostTelemetry {
  private readonly watched = new Set<Watched>();
  private readonly removals = new Set<string>();
  private timer: ReturnType<typeof setInterval> | undefined;
  private polling = false;
  private again = false;
  /** Polls with removals in them that failed in a row: with nothing watched, retried up to a bound. */
  private failedRemovals = 0;
  private retry: ReturnType<typeof setTimeout> | undefined;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly host: ExecHost,
    private readonly opts: typeof DEFAULTS,
  ) {}

  watch(path: string, found: Watched["found"]): () => void {
    const w: Watched = { path, offset: 0, text: new TelemetryText(this.opts.maxBytes), found };
    this.watched.add(w);
    this.timer ??= setInterval(() => this.poll(), this.opts.pollMs);
    this.poll(); // made private now, before the run's CLI opens it
    return () => {
      if (!this.watched.delete(w)) return;
      this.removals.add(path);
      if (this.watched.size === 0) {
        clearInterval(this.timer);
        this.timer = undefined;
      }
      this.poll();
    };
  }

  private poll(): void {
    if (this.polling) {
      this.again = true;
      return;
    }
    const removals = [...this.removals];
    const sections = [...this.watched];
    if (removals.length === 0 && sections.length === 0) return;
    this.removals.clear();
    this.polling = true;
    busy.add(this);
    const nonce = randomBytes(8).toString("hex");
    const script = pollScript(nonce, removals, sections, this.opts.maxBytes);
    // A host still connecting (its first session) is waited for: an exec would fail at once, and the
    // file would wait a whole poll to be made, long enough for gemini to make it first.
    const { execTimeoutMs } = this.opts;
    Promise.resolve(this.host.whenConnected?.(execTimeoutMs))
      // On stdin, to /bin/sh: the files' names are on no command line the host's users can read in ps
      // (a name known ahead is a name another user can plant a link at), and the user's own shell
      // need not be a POSIX one.
      .then(() => this.host.exec("exec /bin/sh -s", { timeoutMs: execTimeoutMs, stdin: script }))
      .then(
        (r) => {
          this.failedRemovals = 0;
          this.take(nonce, sections, r.stdout);
        },
        // An unreachable host or a failed exec is no verdict: the next poll reads on from the same offsets.
        () => {
          for (const path of removals) this.removals.add(path);
          if (removals.length > 0) this.failedRemovals += 1;
        },
      )
      .finally(() => {
        this.polling = false;
        if (this.again) {
          this.again = false;
          this.poll();
        }
        if (this.polling) return;
        this.retryRemovals();
        busy.delete(this);
        for (const w of this.idleWaiters.splice(0)) w();
      });
  }

  /**
   * With nothing watched no timer polls: removals a failed poll gave back are tried again, every
   * `pollMs`, at most MAX_REMOVAL_RETRIES times in a row (a host that stays away keeps its files).
   */
  private retryRemovals(): void {
    if (this.timer || this.retry || this.removals.size === 0 || this.failedRemovals > MAX_REMOVAL_RETRIES) return;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      this.poll();
    }, this.opts.pollMs);
    this.retry.unref(); // a retry keeps no process alive
  }

  /** Resolves once no poll runs: the removals asked for so far were tried (or the host failed them). */
  whenIdle(): Promise<void> {
    if (!this.polling) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  private take(nonce: string, sections: Watched[], stdout: string): void {
    for (const part of stdout.split(`\n@@${nonce} `).slice(1)) {
      const eol = part.indexOf("\n");
      const [index, sizeText] = part.slice(0, eol < 0 ? part.length : eol).split(" ");
      const w = sections[Number(index)];
      if (!w || !this.watched.has(w)) continue; // stopped meanwhile
      const size = Number(sizeText);
      const data = eol < 0 ? "" : part.slice(eol + 1);
      const from = size < w.offset ? 0 : w.offset; // cut by someone else (or gone): from the top
      if (from < w.offset) w.text.reset();
      const errors = size <= from ? [] : w.text.feed(data);
      w.offset = size > this.opts.maxBytes || size < 0 ? 0 : size;
      if (size > this.opts.maxBytes) w.text.reset();
      if (errors.length > 0) w.found(errors);
    }
  }
}

/**
 * One exec's script (POSIX sh): the removals, then per watched file a header line
 * `\n@@<nonce> <index> <size>` (size -1: no file) and the bytes past its offset. A missing file is
 * made (empty, private); one read past `maxBytes` is cut back (the reader starts again at 0).
 */
function pollScript(nonce: string, removals: string[], sections: readonly Watched[], maxBytes: number): string {
  const lines = ["umask 077"];
  if (removals.length > 0) lines.push(`rm -f -- ${removals.map(shQuote).join(" ")}`);
  sections.forEach((w, i) => {
    lines.push(
      `f=${shQuote(w.path)}`,
      // Made only where nothing is, not even a dangling link (noclobber: O_EXCL). In a subshell: a
      // failed redirection of a special built-in (`:`) ends a POSIX shell, and with it every later file.
      '[ -e "$f" ] || [ -h "$f" ] || (set -C; : >"$f") 2>/dev/null',
      // Only our own regular file is read, made private or cut: not a link, not another user's.
      "s=-1",
      'if [ -f "$f" ] && [ ! -h "$f" ] && [ -O "$f" ]; then',
      '  s=$(wc -c <"$f" 2>/dev/null) || s=-1',
      "  s=$((s))", // BSD wc pads the number with spaces
      "fi",
      `printf '\\n@@%s %s %s\\n' ${nonce} ${i} "$s"`,
      'if [ "$s" -ge 0 ]; then',
      '  chmod 600 "$f" 2>/dev/null',
      `  o=${w.offset}`,
      '  [ "$s" -lt "$o" ] && o=0',
      '  [ "$s" -gt "$o" ] && tail -c +$((o + 1)) "$f" | head -c $((s - o))',
      `  [ "$s" -gt ${maxBytes} ] && (: >"$f") 2>/dev/null`,
      "fi",
    );
  });
  lines.push("exit 0");
  return lines.join("\n");
}

const hosts = new WeakMap<ExecHost, HostTelemetry>();
/** The hosts with a poll running: what a shutdown waits for before it closes their connections. */
const busy = new Set<HostTelemetry>();

/** Resolves once every host's running poll is over: the files of the runs that ended are removed. */
export async function remoteTelemetrySettled(): Promise<void> {
  await Promise.all([...busy].map((h) => h.whenIdle()));
}

/** The watch of a remote session's telemetry file on `host` (one poll per host for all of its files). */
export function remoteTelemetryWatch(host: ExecHost, options: RemoteTelemetryOptions = {}): TelemetryWatch {
  return (input: AgentTelemetryInput, found) => {
    let h = hosts.get(host);
    if (!h) {
      h = new HostTelemetry(host, { ...DEFAULTS, ...options });
      hosts.set(host, h);
    }
    return h.watch(input.path, found);
  };
}
