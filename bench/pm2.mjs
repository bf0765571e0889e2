// pm2 as the peer a user would pick instead, driven through its programmatic API with a private
// PM2_HOME (never the user's daemon). Its version check is switched off: it would call out of the
// machine (lib/Worker.js checks PM2_DISABLE_VERSION_CHECK; lib/Client.js skips it when PM2_PROGRAMMATIC).
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";

export async function startPm2() {
  const home = mkdtempSync(join(tmpdir(), "conductor-bench-pm2-"));
  process.env.PM2_HOME = home;
  process.env.PM2_DISABLE_VERSION_CHECK = "1";
  process.env.PM2_PROGRAMMATIC = "true";
  const pm2 = createRequire(import.meta.url)("pm2");
  const call = (method, ...args) =>
    new Promise((resolve, reject) => pm2[method](...args, (err, res) => (err ? reject(err) : resolve(res))));
  await call("connect", false);
  const bus = await call("launchBus");
  /** Resolves with the times of the daemon's next `count` events of this kind for the app `name`. */
  const eventTimes = (name, event, count) =>
    new Promise((resolve) => {
      const times = [];
      const fn = (packet) => {
        if (packet.event !== event || packet.process?.name !== name) return;
        times.push(performance.timeOrigin + performance.now());
        if (times.length < count) return;
        (bus.off ?? bus.removeListener).call(bus, "process:event", fn);
        resolve(times);
      };
      bus.on("process:event", fn);
    });
  const daemonPid = () => Number(readFileSync(join(home, "pm2.pid"), "utf8"));
  return {
    home,
    bus,
    daemonPid,
    logPath: (name) => join(home, `${name}.out.log`),
    start: (opts) =>
      call("start", {
        out_file: join(home, `${opts.name}.out.log`),
        error_file: join(home, `${opts.name}.err.log`),
        ...opts,
      }),
    delete: (name) => call("delete", name),
    /** Resolves on the daemon's next `process:event` of this kind for the app `name`. */
    nextEvent: (name, event) => eventTimes(name, event, 1).then(([at]) => at),
    eventTimes,
    /** Resolves once the daemon has reported `count` events of this kind for the app `name`. */
    countEvents: (name, event, count) => eventTimes(name, event, count).then(() => undefined),
    /** The app's out log once pm2 has stopped appending to it (its log writes trail the events). */
    async settledLog(name) {
      let last = -1;
      for (;;) {
        const text = existsSync(join(home, `${name}.out.log`))
          ? readFileSync(join(home, `${name}.out.log`), "utf8")
          : "";
        if (text.length === last) return text;
        last = text.length;
        await new Promise((r) => setTimeout(r, 200));
      }
    },
    async stop() {
      await call("killDaemon").catch(() => {});
      pm2.disconnect();
    },
  };
}
