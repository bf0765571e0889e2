/**
 * The offline viewer without a browser: loopback only, one self-contained page whose chart is
 * drawn from the machine, a Server-Sent Events stream, and a close() that leaves nothing running.
 */
import { spawn } from "node:child_process";
import { EventEmitter } from "node:events";
import { mkdtempSync, writeFileSync } from "node:fs";
import { get, type IncomingMessage } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { sessionMachine } from "../machines/session.machine.js";
import type { Conductor } from "../src/conductor.js";
import { listMoves, toGraphJson } from "../src/machine-graph.js";
import type { SessionSnapshot } from "../src/session-view.js";
import { ConductorError, OptionsError } from "../src/errors.js";
import { layoutGraph, renderSvg, startViewer, type ViewerOptions, type ViewerSource } from "../src/viewer/index.js";
import { SCRIPTED_AGENT } from "../src/testing/agent-hub.js";

function stubConductor() {
  const emitter = new EventEmitter();
  const sessions: SessionSnapshot[] = [];
  const source = {
    on: (name: string, fn: (p: unknown) => void) => emitter.on(name, fn),
    off: (name: string, fn: (p: unknown) => void) => emitter.off(name, fn),
    getSnapshot: () => sessions.map((s) => ({ ...s })),
  } as unknown as ViewerSource & Pick<Conductor, "getSnapshot">;
  return { source, emitter, sessions };
}

const session = (id: string, state: SessionSnapshot["state"]): SessionSnapshot =>
  ({
    id,
    agent: "command",
    state,
    pid: 123,
    remote: false,
    host: null,
    restarts: 0,
    outPath: null,
    errPath: null,
    createdAt: 0,
    createdAtIso: "1970-01-01T00:00:00.000Z",
    reason: "",
    failureMode: null,
    exit: null,
    health: { l0: "ok", l1: "ok", l3: "ok", outputBytes: 10, inputWait: null },
  }) as SessionSnapshot;

function request(url: string, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; headers: IncomingMessage["headers"]; body: string }>((resolve, reject) => {
    get(url, { headers }, (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    }).on("error", reject);
  });
}

/** Reads SSE events until `until` says stop (or the stream ends). */
function sse(url: string, until: (events: Array<{ event: string; data: string }>) => boolean) {
  const events: Array<{ event: string; data: string }> = [];
  let ended!: Promise<void>;
  const done = new Promise<typeof events>((resolve, reject) => {
    get(url, (res) => {
      let buf = "";
      ended = new Promise((r) => res.on("close", () => r()));
      res.on("data", (d) => {
        buf += d;
        for (let i = buf.indexOf("\n\n"); i >= 0; i = buf.indexOf("\n\n")) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event && data !== undefined) events.push({ event, data });
          if (until(events)) resolve(events);
        }
      });
      res.on("end", () => resolve(events));
    }).on("error", reject);
  });
  return { done, ended: () => ended, events };
}

describe("viewer", () => {
  it("listens on 127.0.0.1 only and says why anything else is refused", async () => {
    const { source } = stubConductor();
    await expect(startViewer(source, { host: "0.0.0.0" })).rejects.toThrow(/must be "127.0.0.1".*no authentication/);
    await expect(startViewer(source, { host: "localhost" })).rejects.toThrow(/must be "127.0.0.1"/);
    await expect(startViewer(source, { port: 70_000 })).rejects.toThrow(/port: must be <= 65535, got number 70000/);
    const v = await startViewer(source);
    expect(v.origin).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(v.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?t=[\w-]{24}$/); // the token the page's controls need
    const busy = await startViewer(source, { port: v.port }).catch((e: unknown) => e);
    expect(busy).toBeInstanceOf(ConductorError);
    expect(busy).toMatchObject({
      code: "INVALID_OPTIONS",
      field: "port",
      message: expect.stringMatching(/port is in use/),
    });
    await v.close();
  });

  it("defect: unknown option keys were ignored and refusals were plain Errors; now an OptionsError naming them", async () => {
    const { source } = stubConductor();
    const refused = async (opts: unknown) => {
      const e = await startViewer(source, opts as ViewerOptions).catch((err: unknown) => err);
      expect(e).toBeInstanceOf(OptionsError);
      expect((e as OptionsError).code).toBe("INVALID_OPTIONS");
      return (e as OptionsError).issues;
    };
    expect(await refused({ bogus: 1 })).toEqual([
      {
        path: "bogus",
        problem: 'unknown key "bogus" (known keys: port, host, historySize, title, control)',
        example: '{ "port": 0, "title": "nightly" }',
      },
    ]);
    expect((await refused({ prot: 8080 }))[0]).toMatchObject({
      problem: 'unknown key "prot" (did you mean "port"?)',
      example: '"port": 0',
    });
    expect((await refused({ host: "0.0.0.0" }))[0]?.path).toBe("host");
    expect((await refused({ historySize: -1 }))[0]?.path).toBe("historySize");
    expect((await refused({ control: {} }))[0]?.problem).toMatch(/must be a control handler/);
    expect((await refused(null))[0]?.problem).toBe("options must be an object, got null");
  });

  it("serves one self-contained page whose chart is the machine's own graph", async () => {
    const { source } = stubConductor();
    const v = await startViewer(source);
    const page = await request(v.url);
    expect(page.status).toBe(200);
    expect(page.headers["content-security-policy"]).toMatch(/default-src 'none'.*connect-src 'self'/);
    // Nothing from the network: no src/href to any URL, no @import.
    expect(page.body).not.toMatch(/(src|href)=["']?(https?:)?\/\//);
    expect(page.body).not.toMatch(/@import|url\(http/);
    for (const s of Object.keys(sessionMachine.root.states)) expect(page.body).toContain(`data-state="${s}"`);
    for (const m of listMoves(sessionMachine)) expect(page.body).toContain(`data-from="${m.from}" data-to="${m.to}"`);
    expect((await request(v.url, { host: "evil.example" })).status).toBe(403); // DNS rebinding
    expect((await request(`${v.origin}nope`)).status).toBe(404);
    const graph = JSON.parse((await request(`${v.origin}graph.json`)).body);
    expect(graph.graph).toEqual(toGraphJson(sessionMachine));
    await v.close();
  });

  it("the layout is deterministic and keeps states apart", () => {
    const a = layoutGraph(toGraphJson(sessionMachine));
    expect(renderSvg(a)).toBe(renderSvg(layoutGraph(toGraphJson(sessionMachine))));
    for (const s of a.states) {
      for (const t of a.states) {
        if (s === t) continue;
        const apart = s.x + s.w <= t.x || t.x + t.w <= s.x || s.y + s.h <= t.y || t.y + t.h <= s.y;
        expect(apart, `${s.key} overlaps ${t.key}`).toBe(true);
      }
    }
  });

  it("streams a snapshot on connect, then each move with its reason; close() ends the stream and every timer", async () => {
    const timersBefore = process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
    const { source, emitter, sessions } = stubConductor();
    sessions.push(session("a", "starting"));
    const v = await startViewer(source);
    let connected = () => {};
    const snapshotSeen = new Promise<void>((r) => (connected = r));
    const stream = sse(`${v.origin}events`, (ev) => {
      if (ev.some((e) => e.event === "snapshot")) connected();
      return ev.some((e) => e.event === "session");
    });
    await snapshotSeen; // move only once the page has its snapshot (a loaded machine connects late)
    sessions[0] = session("a", "healthy");
    emitter.emit("stateChange", { sessionId: "a", from: "starting", to: "healthy", reason: "first_output" });
    const events = await stream.done;
    expect(events[0]!.event).toBe("snapshot");
    expect(JSON.parse(events[0]!.data).sessions[0]).toMatchObject({ id: "a", state: "starting" });
    const moved = JSON.parse(events.find((e) => e.event === "session")!.data);
    expect(moved).toMatchObject({
      id: "a",
      state: "healthy",
      history: [{ from: "starting", to: "healthy", reason: "first_output" }],
    });
    await v.close(); // resolves although a client is still connected
    await stream.ended();
    expect(stream.events.at(-1)!.event).toBe("end");
    expect(emitter.listenerCount("stateChange")).toBe(0);
    expect(process.getActiveResourcesInfo().filter((r) => r === "Timeout").length).toBeLessThanOrEqual(timersBefore);
  });

  it("conductor run --inspect serves the view during the run and after it until Ctrl-C, then exits with the usual code", async () => {
    const cli = fileURLToPath(new URL("../dist/src/cli/main.js", import.meta.url));
    const agent = SCRIPTED_AGENT;
    const dir = mkdtempSync(join(tmpdir(), "viewer-cli-"));
    const plan = JSON.stringify([{ print: "working" }, { sleep: 1500 }, { exit: 0 }]);
    writeFileSync(
      join(dir, "run.json"),
      JSON.stringify({
        sessions: [
          { id: "slow", agent: "command", command: [process.execPath, agent], env: { SCRIPTED_AGENT_PLAN: plan } },
        ],
      }),
    );
    const child = spawn(process.execPath, [cli, "run", "run.json", "--inspect", "--logs-dir", "logs"], { cwd: dir });
    let out = "";
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on("data", (d) => {
        out += d;
        const m = /live view at (http:\/\/127\.0\.0\.1:\d+\/\S*)/.exec(out);
        if (m) resolve(m[1]!);
      });
      child.on("exit", () => reject(new Error(`exited before printing the URL:\n${out}`)));
    });
    const sessionsUrl = url.replace(/\/(\?|$)/, "/sessions.json$1");
    const live = JSON.parse((await request(sessionsUrl)).body);
    expect(live.sessions.map((s: { id: string }) => s.id)).toEqual(["slow"]);
    // The run ends, the page stays up with the final states, so a browser has time to look.
    const exited = new Promise<number | null>((r) => child.on("exit", r));
    await new Promise<void>((r) => {
      const check = () => /the final states stay at/.test(out) && r();
      child.stdout.on("data", check);
      check();
    });
    expect(out).toContain("all 1 sessions ended as expected");
    const after = JSON.parse((await request(sessionsUrl)).body);
    expect(after).toMatchObject({ ended: true, sessions: [{ id: "slow", state: "completed" }] });
    child.kill("SIGINT");
    expect(await exited).toBe(0);
    await expect(request(url)).rejects.toThrow(/ECONNREFUSED/); // gone with the run

    const bad = spawn(process.execPath, [cli, "run", "--inspect=http"], { cwd: dir });
    let err = "";
    bad.stderr.on("data", (d) => (err += d));
    expect(await new Promise((r) => bad.on("exit", r))).toBe(2);
    expect(err).toContain("--inspect=PORT needs a port number");
  }, 120_000);
});
