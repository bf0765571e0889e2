/**
 * Any command: only what holds for programs in general. Its text rules are also the fallback
 * for the named agents (a CLI can print a plain `429 Too Many Requests`). A bare 429 is not a
 * rate limit (a port, a line number): see classify-output.ts.
 */
import type { AgentProfile } from "./types.js";

/**
 * What a remote run that could not enter its workdir prints before it exits 1, the agent never
 * started (actors/remote-pane-create.ts): a config failure, which no rerun mends.
 */
export const WORKDIR_MISSING = "conductor: workdir";

/*
 * A line led (or ended) by a spinner's glyph, as ora and cli-spinners draw one (`⠋ Resolving
 * packages`, npm's `⠙`, listr's `◐`): its busy line. Without it each turn of the glyph was progress,
 * and a program hung behind a spinner stayed healthy for as long as it spun. Braille from U+2801
 * (U+2800 is a blank some TUIs pad with) and the quarter circles; not `|/-\`, which lead list items.
 */
export const SPINNER_LINE = /^\s*[\u2801-\u28ff◐◓◑◒◴◷◶◵]\s+\S|\S\s+[\u2801-\u28ff◐◓◑◒◴◷◶◵]\s*$/;

export const command: AgentProfile = {
  name: "command",
  exitCodes: {},
  failures: [
    { class: "config", pattern: new RegExp(`^${WORKDIR_MISSING} .+ does not exist on host `) },
    { class: "auth", pattern: /\b401 Unauthorized\b|\binvalid api[ _-]?key\b/i },
    { class: "network", pattern: /\b(?:ECONNREFUSED|ENOTFOUND|ETIMEDOUT|EAI_AGAIN|ECONNRESET)\b|socket hang up/ },
    {
      class: "crash",
      pattern:
        /Segmentation fault|core dumped|panicked at|Traceback \(most recent call last\)|Unhandled(?: promise)? rejection|FATAL ERROR: .*heap/i,
    },
  ],
  streamErrorCodes: {},
  titles: [],
  busy: [SPINNER_LINE],
  composer: [],
  questions: [],
  oneShot: () => false,
  // A retry a program announces with its wait and its count (`Error: 503 - retrying in 2s (attempt
  // 1/3)`): noted, and its wait is no stall. Both parts are required: a bare "retrying" says too little.
  retryNotice:
    /^\s*(?:[^\w\s]\s*)?(?<error>[^\s{][^{}]{0,79}?)[\s·,;:–—-]*\bretrying in (?<delay>\d+(?:\.\d+)?)\s*s(?:ec(?:ond)?s?)?\b[^\n]{0,40}?\battempt (?<attempt>\d+)\s*(?:\/|of)\s*(?<of>\d+)/i,
};
