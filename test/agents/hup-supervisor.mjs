#!/usr/bin/env node
// A supervising process for test/agents/hup.live.ts: one conductor (the built package, with its
// default signal traps) running one session, driven over stdin and reporting over stdout, one JSON
// per line. The test closes its "terminal" with SIGHUP and looks for what outlived it.
//   argv: <logsDir> <session config as JSON>
//   stdin: {"type":"text","text":"…"} (typed key by key, then Enter a second later: codex drops an Enter
//          that comes right after the text)
//   stdout: {"ev":"state","to":…} | {"ev":"inputWait","kind":…,"question":…}
import { createInterface } from "node:readline";
import { createConductor } from "../../dist/src/index.js";

const [logsDir, configJson] = process.argv.slice(2);
const config = JSON.parse(configJson);
const say = (msg) => process.stdout.write(`${JSON.stringify(msg)}\n`);
const conductor = createConductor({ logsDir, graceMs: 3_000, enableMesh: false });
conductor.on("stateChange", (e) => say({ ev: "state", from: e.from, to: e.to, reason: e.reason }));
conductor.on("inputWait", (e) => say({ ev: "inputWait", kind: e.kind, question: e.question }));
conductor.spawnSession(config);
createInterface({ input: process.stdin }).on("line", (line) => {
  const cmd = JSON.parse(line);
  if (cmd.type !== "text") return;
  conductor.sendKeys(config.id, Array.from(cmd.text));
  setTimeout(() => conductor.sendKeys(config.id, ["Enter"]), 1_000);
});
say({ ev: "ready", pid: process.pid });
