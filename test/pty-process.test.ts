import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { createProcessReaper, type ProcessReaper } from "../actors/process-reaper.js";
import { isAlive, snapshotProcesses } from "../actors/process-table.js";
import { createPtyProcessLogic } from "../actors/pty-process.js";
import { applyCarriageReturns, RecentText, ScreenTail, stripAnsi } from "../actors/screen-tail.js";
import type { ChildCommand, ChildEvent, PtyProcessInput } from "../machines/session.types.js";
import { hostActor } from "./helpers/host-actor.js";

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const node = (name: string, ...args: string[]) => [process.execPath, fixture(name), ...args];
const tmp = mkdtempSync(join(tmpdir(), "pty-process-test-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let runNo = 0;

type Ev<T extends ChildEvent["type"]> = Extract<ChildEvent, { type: T }>;

/** A tiny parent machine that invokes the pty logic and records what it sends back. */
function startPty(argv: string[], extra: Partial<PtyProcessInput> = {}, reaper: ProcessReaper = createProcessReaper()) {
  const dir = join(tmp, `run${++runNo}`);
  const input: PtyProcessInput = {
    sessionId: "s1",
    generation: 7,
    spec: { argv },
    outPath: join(dir, "out.log"),
    errPath: join(dir, "err.log"),
    ...extra,
  };
  let outSizeAtExit = -1;
  const host = hostActor<ChildEvent>("pty", createPtyProcessLogic({ reaper }), input, (event) => {
    // EXIT promises every byte is in the log: measure the file at that very moment.
    if (event.type === "CHILD.EXIT") outSizeAtExit = existsSync(input.outPath!) ? statSync(input.outPath!).size : 0;
  });
  const { events, listeners, actor } = host;
  const types = () => events.map((e) => e.type);
  // `silentMs` bounds silence, not the wait: every event of the run restarts it, so a slow run on a loaded
  // machine keeps waiting while it makes progress, and only a run that reports nothing at all fails.
  // 45 s: a node child's start-up alone took over 15 s under a full suite on 2 shared cores.
  const until = <T extends ChildEvent["type"]>(type: T, pred: (e: Ev<T>) => boolean = () => true, silentMs = 45_000) =>
    new Promise<Ev<T>>((resolve, reject) => {
      const fail = () => reject(new Error(`no ${type} after ${silentMs} ms without any event; got ${types()}`));
      let timer = setTimeout(fail, silentMs);
      let seen = events.length;
      const check = () => {
        const hit = events.find((e): e is Ev<T> => e.type === type && pred(e as Ev<T>));
        if (hit) {
          clearTimeout(timer);
          listeners.delete(check);
          resolve(hit);
        } else if (events.length > seen) {
          seen = events.length;
          clearTimeout(timer);
          timer = setTimeout(fail, silentMs);
        }
      };
      listeners.add(check);
      check();
    });
  const send = (cmd: ChildCommand) => host.send(cmd);
  return { actor, events, until, send, types, input, reaper, outSizeAtExit: () => outSizeAtExit };
}

async function aliveInSession(sid: number): Promise<number[]> {
  const t = await snapshotProcesses();
  return [...t.values()].filter((p) => p.sid === sid && p.state !== "Z").map((p) => p.pid);
}
const tailHas = (text: string) => (e: Ev<"CHILD.OUTPUT">) => e.screenTail.some((l) => l.includes(text));

describe.runIf(process.platform === "linux")("pty process actor", () => {
  it("echo: SPAWNED, OUTPUT with the text on screen, EXIT 0, GONE, raw log", async () => {
    const h = startPty(["/bin/echo", "hello pty"]);
    const spawned = await h.until("CHILD.SPAWNED");
    expect(spawned.generation).toBe(7);
    expect(spawned.pid).toBeGreaterThan(1);
    await h.until("CHILD.GONE");
    expect(h.types()[0]).toBe("CHILD.SPAWNED");
    expect(h.types().slice(-2)).toEqual(["CHILD.EXIT", "CHILD.GONE"]);
    const out = h.events.find((e): e is Ev<"CHILD.OUTPUT"> => e.type === "CHILD.OUTPUT")!;
    expect(out.screenTail).toEqual(["hello pty"]);
    expect(out.lagMs).toBe(0); // leading edge
    const exit = await h.until("CHILD.EXIT");
    expect(exit).toMatchObject({ exitCode: 0, signal: null });
    expect(exit.recentOutput).toContain("hello pty");
    expect(readFileSync(h.input.outPath!, "utf8")).toBe("hello pty\r\n"); // no marker in the log
    expect(readFileSync(h.input.errPath!, "utf8")).toMatch(/exit: code=0 signal=null marker=true/);
  });

  it("exit code and death by signal come through the shim", async () => {
    const a = startPty(["/bin/sh", "-c", "exit 3"]);
    const b = startPty(["/bin/sh", "-c", "kill -TERM $$"]);
    expect(await a.until("CHILD.EXIT")).toMatchObject({ exitCode: 3, signal: null });
    expect(await b.until("CHILD.EXIT")).toMatchObject({ exitCode: null, signal: "SIGTERM" });
    await Promise.all([a.until("CHILD.GONE"), b.until("CHILD.GONE")]);
  });

  it("spawn errors: missing program or cwd → SPAWN_ERROR, nothing else", async () => {
    const a = startPty(["/nonexistent/agent"]);
    const b = startPty(["/bin/true"], { spec: { argv: ["/bin/true"], cwd: "/nonexistent-dir" } });
    expect((await a.until("CHILD.SPAWN_ERROR")).message).toMatch(/ENOENT/);
    await b.until("CHILD.SPAWN_ERROR");
    // The diagnostics file is closed asynchronously: wait for the line (bounded), not a fixed 50 ms.
    const errText = () => (existsSync(a.input.errPath!) ? readFileSync(a.input.errPath!, "utf8") : "");
    for (let t = 0; t < 600 && !/spawn error: .*nonexistent/.test(errText()); t++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(a.types()).toEqual(["CHILD.SPAWN_ERROR"]);
    expect(errText()).toMatch(/spawn error: .*nonexistent/);
  });

  it("TERMINATE a sleep: EXIT by SIGTERM, GONE, nothing left in its session", async () => {
    const h = startPty(["/bin/sleep", "1000"]);
    const { pid } = await h.until("CHILD.SPAWNED");
    await new Promise((r) => setTimeout(r, 100)); // let the shim start the sleep
    h.send({ type: "CHILD.TERMINATE", reason: "test", graceMs: 2000 });
    expect(await h.until("CHILD.EXIT")).toMatchObject({ exitCode: null, signal: "SIGTERM" });
    await h.until("CHILD.GONE");
    expect(await aliveInSession(pid)).toEqual([]);
  });

  it("TERMINATE a child with grandchildren (own group included): all of them die", async () => {
    const h = startPty(node("grandchildren.mjs"));
    const { pid } = await h.until("CHILD.SPAWNED");
    const out = await h.until("CHILD.OUTPUT", tailHas("PIDS:"));
    const pids = out.screenTail
      .find((l) => l.startsWith("PIDS:"))!
      .slice(5)
      .split(",")
      .map(Number);
    expect(pids).toHaveLength(3);
    for (const p of pids) expect(await isAlive(p)).toBe(true);
    h.send({ type: "CHILD.TERMINATE", reason: "test", graceMs: 2000 });
    await h.until("CHILD.GONE");
    for (const p of pids) expect(await isAlive(p)).toBe(false);
    expect(await aliveInSession(pid)).toEqual([]);
  });

  it("a child that ignores SIGTERM is SIGKILLed after graceMs and the kill is logged", async () => {
    const h = startPty(node("ignore-term.mjs"));
    await h.until("CHILD.OUTPUT", tailHas("ready"));
    h.send({ type: "CHILD.TERMINATE", reason: "test", graceMs: 300 });
    expect(await h.until("CHILD.EXIT")).toMatchObject({ exitCode: null, signal: "SIGKILL" });
    await h.until("CHILD.GONE");
    expect(readFileSync(h.input.errPath!, "utf8")).toMatch(/forced kill \(SIGKILL\)/);
  });

  it("orphans left by a natural exit are reaped before GONE", async () => {
    const h = startPty(["/bin/sh", "-c", "/bin/sleep 1000 & echo orphan=$!; exit 1"]);
    expect(await h.until("CHILD.EXIT")).toMatchObject({ exitCode: 1 });
    const orphan = Number(/orphan=(\d+)/.exec(readFileSync(h.input.outPath!, "utf8"))![1]);
    await h.until("CHILD.GONE");
    expect(await isAlive(orphan)).toBe(false);
  });

  it("coalesces: 10k small lines make few OUTPUT events; the last one has every byte", async () => {
    const h = startPty(node("many-lines.mjs", "10000"), { outputCoalesceMs: 100 });
    await h.until("CHILD.GONE");
    const outs = h.events.filter((e): e is Ev<"CHILD.OUTPUT"> => e.type === "CHILD.OUTPUT");
    expect(outs.length).toBeGreaterThan(0);
    expect(outs.length).toBeLessThan(20);
    const size = statSync(h.input.outPath!).size;
    expect(outs.at(-1)!.bytes).toBe(size);
    expect(outs.at(-1)!.screenTail.at(-1)).toBe("line 9999");
    expect(h.types().indexOf("CHILD.EXIT")).toBeGreaterThan(h.types().lastIndexOf("CHILD.OUTPUT"));
  });

  it("CHILD.WRITE reaches a child reading stdin", async () => {
    const h = startPty(node("echo-stdin.mjs"));
    await h.until("CHILD.OUTPUT", tailHas("ready"));
    h.send({ type: "CHILD.WRITE", data: "hello input\r" });
    const exit = await h.until("CHILD.EXIT");
    expect(exit.exitCode).toBe(0);
    expect(exit.recentOutput).toContain("got:hello input");
  });

  it("ANSI-heavy TUI: the rendered screen shows the question drawn by cursor moves", async () => {
    const h = startPty(node("ansi-question.mjs"));
    // The screen is drawn by several writes that coalescing may split (it did under load):
    // wait for the frame where the last piece, the spinner, has landed too.
    const out = await h.until("CHILD.OUTPUT", (e) => tailHas("Continue? (y/n)")(e) && tailHas("spinner -")(e));
    expect(out.screenTail.join("\n")).not.toMatch(/\x1b/);
    expect(out.screenTail).toContain("         Continue? (y/n)");
    expect(out.screenTail).toContain("spinner -");
    h.send({ type: "CHILD.WRITE", data: "y" });
    expect(await h.until("CHILD.EXIT")).toMatchObject({ exitCode: 0 });
  });

  it("RESIZE reaches the pty; terminal queries (cursor position) get an answer", async () => {
    const argv = ["/bin/sh", "-c", "echo ready; read x; stty size"];
    const h = startPty(argv, { spec: { argv, cols: 90, rows: 20 } });
    h.send({ type: "CHILD.RESIZE", cols: 100, rows: 30 });
    await h.until("CHILD.OUTPUT", tailHas("ready"));
    h.send({ type: "CHILD.WRITE", data: "\r" });
    expect((await h.until("CHILD.EXIT")).recentOutput).toContain("30 100");
    const q = `process.stdin.setRawMode(true); process.stdout.write("\\x1b[3;7H\\x1b[6n");
      process.stdin.once("data", (d) => { console.log("\\nREPLY" + JSON.stringify(String(d))); process.exit(0); });`;
    const d = startPty([process.execPath, "-e", q]);
    expect((await d.until("CHILD.EXIT")).recentOutput).toContain('REPLY"\\u001b[3;7R"');
  });

  it("stopping the actor ends the tree; reaper.whenIdle() covers it", async () => {
    const reaper = createProcessReaper();
    const h = startPty(["/bin/sh", "-c", "echo started; exec /bin/sleep 1000"], {}, reaper);
    const { pid } = await h.until("CHILD.SPAWNED");
    await h.until("CHILD.OUTPUT", tailHas("started"));
    h.actor.stop();
    expect(reaper.pending).toBeGreaterThan(0);
    await reaper.whenIdle();
    expect(await aliveInSession(pid)).toEqual([]);
    expect(readFileSync(h.input.outPath!, "utf8")).toBe("started\r\n");
    expect(h.types()).not.toContain("CHILD.EXIT"); // nothing is sent after stop
  });
});

/** Mirrors test/fixtures/blast.mjs. */
function blastBytes(seed: number, size = 1 << 20): Buffer {
  const buf = Buffer.alloc(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    buf[i] = 0x21 + ((x >>> 24) % 94);
  }
  return buf;
}

describe.runIf(process.platform === "linux")("the tail: no byte lost when a child exits at once", () => {
  it(
    "1 MiB blast, 50 runs in batches of 5: every byte logged before EXIT",
    async () => {
      const runs = 50;
      const batch = 5;
      const expected = new Map<number, Buffer>();
      for (let b = 0; b < runs; b += batch) {
        await Promise.all(
          Array.from({ length: batch }, async (_, k) => {
            const seed = ((b + k) % 5) + 1;
            const want = expected.get(seed) ?? blastBytes(seed);
            expected.set(seed, want);
            const h = startPty(node("blast.mjs", String(seed)));
            // A CPU hog can starve the child for long stretches: wait on the run's events, failing only
            // after 5 minutes in which the run reported nothing (a hang, not load).
            const exit = await h.until("CHILD.EXIT", () => true, 300_000);
            expect(exit.exitCode).toBe(0);
            expect(h.outSizeAtExit()).toBe(want.length);
            const outs = h.events.filter((e): e is Ev<"CHILD.OUTPUT"> => e.type === "CHILD.OUTPUT");
            expect(outs.at(-1)!.bytes).toBe(want.length);
            expect(readFileSync(h.input.outPath!).equals(want)).toBe(true);
            await h.until("CHILD.GONE", () => true, 300_000);
          }),
        );
      }
      // ~15 s idle. No total-time bound that load could reach: the waits above fail on silence (a hang).
    },
    24 * 3_600_000,
  );
});

describe.runIf(process.platform === "linux")("a flood of lines: nothing lost, the last screen right", () => {
  it("300k lines flat out (plain, every 1000th coloured): every byte logged in order, the screen shows the end", async () => {
    const n = 300_000;
    const lineOf = (i: number) =>
      i % 1000 === 999 ? `\x1b[32mline ${i} in colour\x1b[0m\r\n` : `line ${i} ${"-".repeat(i % 50)}\r\n`; // the pty's ONLCR
    const want = Buffer.from(Array.from({ length: n }, (_, i) => lineOf(i)).join(""));
    const h = startPty(node("line-flood.mjs", String(n)));
    const exit = await h.until("CHILD.EXIT", () => true, 300_000);
    expect(exit.exitCode).toBe(0);
    expect(h.outSizeAtExit()).toBe(want.length);
    expect(readFileSync(h.input.outPath!).equals(want)).toBe(true);
    const last = h.events.filter((e): e is Ev<"CHILD.OUTPUT"> => e.type === "CHILD.OUTPUT").at(-1)!;
    expect(last.bytes).toBe(want.length);
    expect(last.screenTail.slice(-2)).toEqual([`line ${n - 2} ${"-".repeat((n - 2) % 50)}`, "line 299999 in colour"]);
    expect(exit.recentOutput.trimEnd().endsWith("line 299999 in colour")).toBe(true);
    await h.until("CHILD.GONE", () => true, 300_000);
  }, 900_000);
});

describe("screen tail and ANSI stripping", () => {
  it("stripAnsi removes CSI, OSC, DCS and charset sequences and stray controls", () => {
    const s =
      "\x1b[1;31mred\x1b[0m \x1b]0;title\x07\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\ \x1bP1$r0m\x1b\\\x1b(Bok\x07\x08\x1b7\x1b>";
    expect(stripAnsi(s)).toBe("red link ok");
    expect(stripAnsi("a\tb\r\nc")).toBe("a\tb\r\nc");
  });

  it("applies lone carriage returns (progress bars keep their last state)", () => {
    expect(applyCarriageReturns("10%\r50%\r100%\r\ndone\n")).toBe("100%\ndone\n");
  });

  it("RecentText survives sequences split across chunks and stays bounded", () => {
    const r = new RecentText(16);
    for (const c of ["ab\x1b[3", "1mcd\x1b]0;ti", "tle\x07ef\x1b", "[0m"]) r.push(c);
    expect(r.text()).toBe("abcdef");
    r.push(`${"x".repeat(100)}TAIL`);
    expect(r.text()).toBe(`${"x".repeat(12)}TAIL`);
  });

  it("lastLines renders like a terminal: cursor moves, overwrites, clears", async () => {
    const screen = new ScreenTail({ cols: 40, rows: 10 });
    await screen.write("old junk\r\n\x1b[2J\x1b[H");
    await screen.write(Buffer.from("\x1b[4;10H(y/n)\x1b[4;1HContinue?\x1b[6;1Hwörk ✔   \r\n"));
    expect(screen.lastLines(5)).toEqual(["Continue?(y/n)", "wörk ✔"]);
    expect(screen.lastLines(1)).toEqual(["wörk ✔"]);
    expect(screen.recent()).toContain("Continue?");
    screen.dispose();
    await screen.write("ignored after dispose"); // resolves, does not throw
  });
});
