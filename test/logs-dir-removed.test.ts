/**
 * The logs directory removed (`rm -rf`) under a running conductor. A field review: the event log
 * went on into an unlinked file and was lost without a word, `conductor ls/stop --name` said there is
 * no such conductor, and the survivors-ledger entry was gone, so after a SIGKILL of conductor and
 * watchdog the next conductor found nothing. Now the loss is noticed (fstat: nlink 0), said
 * (`logError` `recreated`, `log.recreated`, stderr) and repaired: the files made again with what the
 * open fds held, the ledger entry written again, the control socket listened on again.
 */
import { execFile } from "node:child_process";
import fs, { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { endStream, openLog } from "../actors/log-file.js";
import { setOutputLogPolicy } from "../actors/log-rotation.js";
import type { OutputLogError } from "../actors/output-log-loss.js";
import { createConductor } from "../src/conductor.js";
import type { ConductorEventPayloads } from "../src/conductor-events.js";
import { connectControl } from "../src/control/client.js";
import { listConductors } from "../src/control/registry.js";
import { createEventLog, type EventLogError, readEventLog } from "../src/event-log.js";
import { LEDGER_DIR } from "../src/survivors.js";
import { distModule } from "./helpers/dist.js";
import { waitUntil } from "./helpers/wait-until.js";

const tmp = mkdtempSync(join(tmpdir(), "logs-removed-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

describe("the event log's file removed under it", () => {
  it("defect: lines went into the removed file; now it is made again with every line, and said", async () => {
    const dir = join(tmp, "unit");
    const file = join(dir, "events.jsonl");
    const errors: EventLogError[] = [];
    const warnings: string[] = [];
    const log = createEventLog(file, { onError: (e) => errors.push(e), warn: (m) => warnings.push(m) });
    log.append("one");
    log.append("two");
    expect(log.checkFile()).toBe(false); // linked: nothing to do
    rmSync(dir, { recursive: true });
    log.append("three"); // into the removed file: copied back with the rest
    await log.flush(); // a flush checks first
    log.append("four");
    await log.close();
    expect((await readEventLog(file)).map((l) => [l.seq, l.event])).toEqual([
      [1, "one"],
      [2, "two"],
      [3, "three"],
      [4, "log.recreated"],
      [5, "four"],
    ]);
    expect(errors).toEqual([expect.objectContaining({ kind: "recreated", lost: 0, filePath: file })]);
    expect(warnings.join("\n")).toMatch(/was removed under the conductor; made again, its \d+ bytes copied back/);
  });

  it("a copy that fails (disk full) is cut back; the lines it held are counted lost by seq", async () => {
    const dir = join(tmp, "unit-full");
    const file = join(dir, "events.jsonl");
    const errors: EventLogError[] = [];
    const log = createEventLog(file, { onError: (e) => errors.push(e), warn: () => {} });
    log.append("one");
    log.append("two");
    rmSync(dir, { recursive: true });
    vi.spyOn(fs, "readSync").mockImplementation(() => {
      throw Object.assign(new Error("EIO: i/o error, read"), { code: "EIO" });
    });
    expect(log.checkFile()).toBe(true);
    vi.restoreAllMocks();
    log.append("three");
    await log.close();
    const lines = await readEventLog(file);
    expect(lines.map((l) => [l.seq, l.event])).toEqual([
      [3, "log.recreated"],
      [4, "three"],
    ]);
    expect(lines[0]).toMatchObject({ firstLostSeq: 1, lastLostSeq: 2, rescuedBytes: 0, error: /EIO/ });
    expect(errors).toEqual([expect.objectContaining({ kind: "recreated", lost: 2, firstLostSeq: 1 })]);
  });
});

describe("an output log's file removed under it", () => {
  it("defect: output went into the removed file; now it is made again with every byte, and said", async () => {
    const dir = join(tmp, "out");
    const lines: Array<[string, Record<string, unknown>]> = [];
    const errors: OutputLogError[] = [];
    const leave = setOutputLogPolicy(dir, { onEvent: (e, d) => lines.push([e, d]), onError: (e) => errors.push(e) });
    const s = openLog(join(dir, "w.out.log"));
    if (!s) throw new Error("no stream");
    await new Promise((r) => s.write("before\n", r));
    rmSync(dir, { recursive: true });
    await new Promise((r) => s.write("after\n", r));
    await endStream(s); // the close checks whatever the write's cadence skipped
    leave();
    expect(readFileSync(join(dir, "w.out.log"), "utf8")).toBe("before\nafter\n");
    expect(lines).toEqual([["output.recreated", expect.objectContaining({ session: "w", rescuedBytes: 13 })]]);
    expect(errors.map((e) => [e.kind, e.session])).toEqual([["recreated", "w"]]);
  });
});

const run = promisify(execFile);
const { path: cli, built } = distModule("src/cli/main.js");

describe("a conductor whose logs directory is removed", () => {
  it("defect: the event log, the ledger entry and the control socket were lost for good; now all are back", async () => {
    const logsDir = join(tmp, "conductor");
    const name = `removed-${process.pid}`;
    const c = createConductor({ logsDir, handleSignals: false, graceMs: 500, control: { name } });
    const logErrors: ConductorEventPayloads["logError"][] = [];
    c.on("logError", (e) => logErrors.push(e));
    const stderr = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    try {
      const server = await c.control;
      // Numbered lines, one every 20 ms: every number must be in its output log at the end.
      const counter = "let i = 0; setInterval(() => console.log(`n ${i++}`), 20)";
      c.spawnSession({ id: "counter", agent: "command", command: [process.execPath, "-e", counter] });
      const out = join(logsDir, "counter.out.log");
      await waitUntil(() => existsSync(out) && /n 3\r?\n/.test(readFileSync(out, "utf8")), "the counter's output");
      rmSync(logsDir, { recursive: true, force: true });
      // `ls` with the socket gone: the entry is kept (it dropped it: the cli-fixes review), marked.
      expect(listConductors().find((e) => e.name === name)?.socketMissing).toBe(true);
      const ledger = join(logsDir, LEDGER_DIR);
      // Bounds for a hung test, not timing gates: the conductor checks every half second.
      await waitUntil(
        () => logErrors.some((e) => e.kind === "recreated" && !e.session),
        "logError recreated (the event log)",
      );
      await waitUntil(() => existsSync(ledger) && readdirSync(ledger).length === 1, "the ledger entry back");
      await waitUntil(
        () => listConductors().some((e) => e.name === name && !e.socketMissing),
        "the registry entry back, with its socket",
      );
      const client = await connectControl(server?.socketPath ?? "");
      const sessions = await client.request<Array<{ id: string }>>({ op: "sessions" });
      client.close();
      expect(sessions.map((s) => s.id)).toEqual(["counter"]);
      if (built) {
        const ls = await run(process.execPath, [cli, "ls", "--name", name]);
        expect(ls.stdout).toMatch(/counter\s+command\s+healthy/);
      }
      // Output after the removal lands too.
      const printed = () => (existsSync(out) ? readFileSync(out, "utf8") : "");
      const at = Number(/n (\d+)\r?\n$/.exec(printed())?.[1] ?? 0);
      await waitUntil(() => new RegExp(`n ${at + 5}\r?\n`).test(printed()), "output after the removal");
    } finally {
      await c.shutdown("test");
      stderr.mockRestore();
    }
    const lines = await readEventLog(join(logsDir, "conductor-events.jsonl"));
    const seqs = lines.map((l) => l.seq);
    // Every line is there, the ones from before the removal too, in one sequence.
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
    const events = lines.map((l) => l.event);
    for (const e of [
      "conductor.start",
      "log.recreated",
      "conductor.ledger_restored",
      "control.restored",
      "output.recreated",
    ])
      expect(events).toContain(e);
    const numbers = readFileSync(join(logsDir, "counter.out.log"), "utf8")
      .split(/\r?\n/)
      .filter(Boolean)
      .map((l) => Number(l.split(" ")[1]));
    expect(numbers).toEqual(Array.from({ length: numbers.length }, (_, i) => i));
  }, 60_000);
});
