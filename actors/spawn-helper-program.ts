/**
 * The spawn helper's program: plain CommonJS run with `node -e`, so it needs no file of its own on
 * disk (a bundled or a vitest-run package works the same). spawn-helper.ts starts it and says why.
 *
 * Protocol, one JSON object a line. In: `{id, tty, file, args, cwd, env}`. Out: `{ready: true}` once,
 * when it reads; then `{id, pid}` once a child runs, `{id, error}` when it could not be started, then
 * `{id, exit: {code, signal}}`.
 * - The tty (`/dev/pts/N`, whose master the conductor holds) becomes the child's stdin/out/err;
 *   the helper's own copy is opened close-on-exec and closed right after the spawn, so no child
 *   ever holds another session's terminal.
 * - INT/HUP/TERM/QUIT are ignored: a Ctrl-C to the conductor's terminal must not end the helper
 *   (its death ends every child it started); it leaves when the conductor closes its stdin.
 */
export const SPAWN_HELPER_PROGRAM = `"use strict";
const { spawn } = require("node:child_process");
const { closeSync, openSync } = require("node:fs");
process.title = "conductor-spawn-helper";
for (const s of ["SIGINT", "SIGHUP", "SIGTERM", "SIGQUIT"]) process.on(s, () => {});
process.stdout.on("error", () => process.exit(0));
const send = (m) => process.stdout.write(JSON.stringify(m) + "\\n");
function start(line) {
  let req;
  try {
    req = JSON.parse(line);
  } catch (e) {
    return send({ id: null, error: "not JSON: " + e.message });
  }
  const id = req.id;
  let fd;
  try {
    fd = openSync(req.tty, "r+");
    const child = spawn(req.file, req.args, { cwd: req.cwd, env: req.env, stdio: [fd, fd, fd] });
    if (child.pid === undefined) {
      child.once("error", (e) => send({ id, error: e.message }));
      return;
    }
    send({ id, pid: child.pid });
    child.once("exit", (code, signal) => send({ id, exit: { code, signal } }));
  } catch (e) {
    send({ id, error: e.message });
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
let buf = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (d) => {
  buf += d;
  for (let nl = buf.indexOf("\\n"); nl >= 0; nl = buf.indexOf("\\n")) {
    const line = buf.slice(0, nl);
    buf = buf.slice(nl + 1);
    if (line) start(line);
  }
});
process.stdin.on("end", () => process.exit(0));
send({ ready: true });
`;
