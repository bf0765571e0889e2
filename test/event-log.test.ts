import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import * as fs from "node:fs";
import fsModule from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { distModule as distModuleOf } from "./helpers/dist.js";
import { createEventLog, describeArgv, readEventLog, readEventLogDetailed, redactEnv } from "../src/event-log.js";

const { path: distModule, built: hasDist } = distModuleOf("src/event-log.js");

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "event-log-"));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const rawLines = (p: string) =>
  fs
    .readFileSync(p, "utf8")
    .split("\n")
    .filter((l) => l !== "");

describe("event log", () => {
  it("writes { seq, ts, event, ...data } lines, seq from 1, into a created parent directory", async () => {
    const file = path.join(dir, "deep", "er", "events.jsonl");
    const log = createEventLog(file);
    expect(log.filePath).toBe(file);
    log.append("spawn", { session: "a", pid: 42 });
    log.append("exit", { session: "a", code: 0, signal: null });
    log.append("shutdown");
    expect(log.seq).toBe(3);
    await log.close();
    const lines = rawLines(file).map((l) => JSON.parse(l));
    expect(lines.map((l) => l.seq)).toEqual([1, 2, 3]);
    for (const l of lines) expect(l.ts).toMatch(ISO);
    expect(Object.keys(lines[0]).slice(0, 3)).toEqual(["seq", "ts", "event"]);
    expect(lines[0]).toMatchObject({ event: "spawn", session: "a", pid: 42 });
    expect(lines[2]).toEqual({ seq: 3, ts: lines[2].ts, event: "shutdown" });
  });

  it("each log instance counts seq from 1", async () => {
    const file = path.join(dir, "shared.jsonl");
    const a = createEventLog(file);
    a.append("one");
    await a.close();
    const b = createEventLog(file);
    b.append("two");
    await b.close();
    expect(rawLines(file).map((l) => JSON.parse(l).seq)).toEqual([1, 1]);
  });

  it("caller data cannot overwrite seq, ts or event, and the collision is recorded", async () => {
    const file = path.join(dir, "e.jsonl");
    const log = createEventLog(file);
    log.append("real", { seq: 999, ts: "yesterday", event: "fake", session: "s" });
    await log.close();
    const [line] = rawLines(file).map((l) => JSON.parse(l));
    expect(line.seq).toBe(1);
    expect(line.ts).toMatch(ISO);
    expect(line.event).toBe("real");
    expect(line.session).toBe("s");
    expect(line.ignoredKeys).toEqual(["seq", "ts", "event"]);
  });

  it("logs an unserializable payload as such instead of throwing (BigInt, cycle)", async () => {
    const file = path.join(dir, "e.jsonl");
    const log = createEventLog(file);
    const cyclic: Record<string, unknown> = { name: "c" };
    cyclic.self = cyclic;
    expect(() => log.append("big", { n: 10n, session: "s" })).not.toThrow();
    expect(() => log.append("cycle", cyclic)).not.toThrow();
    log.append("after", { ok: true });
    await log.close();
    const lines = (await readEventLog(file)) as Array<Record<string, unknown>>;
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatchObject({ seq: 1, event: "big", unserializable: true, keys: ["n", "session"] });
    expect(lines[1]).toMatchObject({ seq: 2, event: "cycle", unserializable: true, keys: ["name", "self"] });
    expect(typeof lines[0]!.error).toBe("string");
    expect(lines[2]).toMatchObject({ seq: 3, event: "after", ok: true });
  });

  it("keeps one object per line even when data contains newlines", async () => {
    const file = path.join(dir, "e.jsonl");
    const log = createEventLog(file);
    log.append("child_error", { error: "line one\nline two\r\n\u2028end" });
    await log.close();
    expect(rawLines(file)).toHaveLength(1);
    expect((await readEventLog(file))[0]!.error).toBe("line one\nline two\r\n\u2028end");
  });

  it("10k appends parse back line by line, in order", async () => {
    const file = path.join(dir, "many.jsonl");
    const log = createEventLog(file);
    for (let i = 1; i <= 10_000; i++) log.append("health", { session: `s${i % 7}`, i });
    await log.close();
    const raw = rawLines(file);
    expect(raw).toHaveLength(10_000);
    raw.forEach((l, idx) => {
      const o = JSON.parse(l);
      expect(o.seq).toBe(idx + 1);
      expect(o.i).toBe(idx + 1);
    });
    const parsed = await readEventLogDetailed(file);
    expect(parsed.issues).toEqual([]);
    expect(parsed.lines).toHaveLength(10_000);
  });

  it("flush() resolves after an fsync, with every appended line on disk", async () => {
    const file = path.join(dir, "e.jsonl");
    const log = createEventLog(file);
    const realFsync = fsModule.fsync;
    let synced = false;
    // Wrap the real fsync: flush() must not resolve before the kernel reported the sync done.
    const fsyncSpy = vi.spyOn(fsModule, "fsync").mockImplementation(((fd: number, cb: (e: Error | null) => void) =>
      realFsync(fd, (err) => {
        synced = true;
        cb(err);
      })) as typeof fsModule.fsync);
    try {
      log.append("a", { n: 1 });
      log.append("b", { n: 2 });
      const flushed = log.flush();
      expect(synced).toBe(false);
      await flushed;
      expect(synced).toBe(true);
      expect(fsyncSpy).toHaveBeenCalledTimes(1);
      // Read through a fresh descriptor: the content is there before close().
      const onDisk = rawLines(file).map((l) => JSON.parse(l));
      expect(onDisk.map((l) => l.event)).toEqual(["a", "b"]);
      expect(log.closed).toBe(false);
    } finally {
      fsyncSpy.mockRestore();
      await log.close();
    }
  });

  it("close() is idempotent; append after close is counted and warned once, not written", async () => {
    const file = path.join(dir, "e.jsonl");
    const warnings: string[] = [];
    const log = createEventLog(file, { warn: (m) => warnings.push(m) });
    log.append("before");
    const p1 = log.close();
    const p2 = log.close();
    expect(p2).toBe(p1);
    await p1;
    await log.close();
    await log.flush(); // after close: nothing to do, must not throw on a closed fd
    expect(log.closed).toBe(true);
    log.append("late1", { x: 1 });
    log.append("late2");
    expect(log.dropped).toBe(2);
    expect(log.seq).toBe(1);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain("late1");
    expect(rawLines(file).map((l) => JSON.parse(l).event)).toEqual(["before"]);
  });

  it("readEventLog tolerates and reports a torn last line", async () => {
    const file = path.join(dir, "torn.jsonl");
    const log = createEventLog(file);
    log.append("a");
    log.append("b");
    await log.close();
    fs.appendFileSync(file, '{"seq":3,"ts":"2024-01-01T00:00:00.000Z","event":"c","da');
    const issues: unknown[] = [];
    const lines = await readEventLog(file, (i) => issues.push(i));
    expect(lines.map((l) => l.event)).toEqual(["a", "b"]);
    expect(issues).toEqual([expect.objectContaining({ kind: "torn", line: 3 })]);
  });

  it("a new log on a file with a torn tail starts on a fresh line", async () => {
    const file = path.join(dir, "torn.jsonl");
    fs.writeFileSync(file, '{"seq":1,"ts":"2024-01-01T00:00:00.000Z","event":"ok"}\n{"seq":2,"ev');
    const log = createEventLog(file);
    log.append("next");
    await log.close();
    const { lines, issues } = await readEventLogDetailed(file);
    expect(lines.map((l) => l.event)).toEqual(["ok", "next"]);
    expect(issues).toEqual([expect.objectContaining({ kind: "malformed", line: 2 })]);
  });

  it.skipIf(!hasDist)(
    "a writer SIGKILLed mid-run leaves every line appended before the kill, each complete line parseable",
    async () => {
      const file = path.join(dir, "killed.jsonl");
      const child = spawn(
        process.execPath,
        [fileURLToPath(new URL("fixtures/event-log-writer.mjs", import.meta.url)), file],
        {
          stdio: ["ignore", "pipe", "inherit"],
        },
      );
      let reported = 0;
      let buf = "";
      const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on("exit", (_c, sig) => resolve(sig)));
      await new Promise<void>((resolve, reject) => {
        child.on("error", reject);
        child.stdout.on("data", (chunk: Buffer) => {
          buf += chunk.toString();
          for (const m of buf.matchAll(/appended (\d+)\n/g)) reported = Math.max(reported, Number(m[1]));
          buf = buf.slice(buf.lastIndexOf("\n") + 1);
          if (reported >= 20_000) resolve();
        });
      });
      child.kill("SIGKILL"); // the writer is still appending in a loop: this lands mid-run
      expect(await exited).toBe("SIGKILL");

      const { lines, issues } = await readEventLogDetailed(file);
      // Only a torn tail is tolerable; a malformed line in the middle would mean interleaved writes.
      expect(issues.filter((i) => i.kind === "malformed")).toEqual([]);
      expect(lines.length).toBeGreaterThanOrEqual(reported);
      for (const [idx, l] of lines.entries()) expect(l.seq).toBe(idx + 1);
      expect(lines[reported - 1]).toMatchObject({ seq: reported, event: "tick", i: reported });
    },
  );
  if (!hasDist) {
    it.skip(`SIGKILL durability test needs ${distModule}: run \`npx tsc -p tsconfig.build.json\` first`, () => {});
  }
});

describe("redaction", () => {
  it("redactEnv keeps the names, never the values", () => {
    const env = { OPENAI_API_KEY: "sk-live-123", PATH: "/usr/bin", CODEX_PROFILE: "p" };
    const out = redactEnv(env);
    expect(out).toEqual(["CODEX_PROFILE", "OPENAI_API_KEY", "PATH"]);
    expect(JSON.stringify(out)).not.toContain("sk-live-123");
    expect(redactEnv(undefined)).toEqual([]);
  });

  it("describeArgv masks secret flag values and keeps everything else", () => {
    const argv = [
      "/usr/bin/agent",
      "--api-key",
      "sk-AAA",
      "--token=tok-BBB",
      "--password",
      "hunter2",
      "--model",
      "gpt-5",
      "--max-tokens",
      "100",
      "OPENAI_API_KEY=sk-CCC",
      "-H",
      "Authorization: Bearer DDD",
      "--apiKey",
      "EEE",
      "--token",
      "--verbose",
    ];
    const out = describeArgv(argv);
    expect(out).toEqual([
      "/usr/bin/agent",
      "--api-key",
      "***",
      "--token=***",
      "--password",
      "***",
      "--model",
      "gpt-5",
      "--max-tokens",
      "100",
      "OPENAI_API_KEY=***",
      "-H",
      "Authorization: ***",
      "--apiKey",
      "***",
      "--token",
      "--verbose",
    ]);
    for (const secret of ["sk-AAA", "tok-BBB", "hunter2", "sk-CCC", "DDD", "EEE"]) {
      expect(out.join(" ")).not.toContain(secret);
    }
    expect(argv[2]).toBe("sk-AAA"); // the input is not mutated
  });

  it("describeArgv masks literal secrets wherever they appear (e.g. the prompt)", () => {
    const prompt = "my password is swordfish";
    const out = describeArgv(["claude", "--model", "m", "-p", prompt, `--note=${prompt}!`], [prompt, ""]);
    expect(out).toEqual(["claude", "--model", "m", "-p", "***", "--note=***!"]);
  });
});
