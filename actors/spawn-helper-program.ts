/**
 * The spawn helper's Node program, for a machine without Perl (spawn-helper-perl.ts is the first
 * choice: a tenth of the memory): plain CommonJS run with `node -e`, so it needs no file of its own on
 * disk (a bundled or a vitest-run package works the same). spawn-helper.ts starts it and says why;
 * spawn-helper-protocol.ts says what it reads and answers.
 * - The tty is opened O_NOCTTY (spawn-helper-perl.ts says why: without it, no user but root could
 *   start the first child).
 * - The tty (`/dev/pts/N`, whose master the conductor holds) becomes the child's stdin/out/err;
 *   the helper's own copy is opened close-on-exec and closed right after the spawn, so no child
 *   ever holds another session's terminal.
 * - INT/HUP/TERM/QUIT are ignored: a Ctrl-C to the conductor's terminal must not end the helper
 *   (its death ends every child it started); it leaves when the conductor closes its stdin.
 */
export const SPAWN_HELPER_PROGRAM = `"use strict";
const { spawn } = require("node:child_process");
const { closeSync, constants, openSync } = require("node:fs");
process.title = "conductor-spawn-helper";
for (const s of ["SIGINT", "SIGHUP", "SIGTERM", "SIGQUIT"]) process.on(s, () => {});
process.stdout.on("error", () => process.exit(0));
const say = (line) => process.stdout.write(line + "\\n");
const oneLine = (s) => String(s).replace(/\\s+/g, " ");
function start(f) {
  const [id, tty, cwd, file] = f;
  const argc = Number(f[4]);
  const env = {};
  for (const entry of f.slice(6 + argc)) {
    const eq = entry.indexOf("=");
    env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  let fd;
  try {
    fd = openSync(tty, constants.O_RDWR | constants.O_NOCTTY);
    const child = spawn(file, f.slice(5, 5 + argc), { cwd, env, stdio: [fd, fd, fd] });
    if (child.pid === undefined) {
      child.once("error", (e) => say("error " + id + " " + oneLine(e.message)));
      return;
    }
    say("pid " + id + " " + child.pid);
    child.once("exit", (code, signal) => say("exit " + id + " " + (code ?? "-") + " " + (signal ?? "-")));
  } catch (e) {
    say("error " + id + " " + oneLine(e.message));
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
const fields = [];
let rest = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (d) => {
  const parts = (rest + d).split("\\0");
  rest = parts.pop();
  for (const p of parts) fields.push(p);
  while (fields.length >= 6) {
    const argc = Number(fields[4]);
    if (fields.length < 6 + argc) break;
    const n = 6 + argc + Number(fields[5 + argc]);
    if (fields.length < n) break;
    start(fields.splice(0, n));
  }
});
process.stdin.on("end", () => process.exit(0));
say("ready");
`;
