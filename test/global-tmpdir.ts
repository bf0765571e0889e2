/**
 * One temporary directory per test run, removed when the run ends: the suites make ~70 directories
 * (logs, homes, sockets, configs) with `mkdtemp(tmpdir())`, and left them all, 8.8 GB on a machine
 * that had run them for a week. Workers start after this and inherit `TMPDIR`, which `os.tmpdir()`
 * reads on every call. `KEEP_TEST_TMP=1` keeps it (and prints where) to look at a failure's files.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export default function setup(): () => void {
  // Short: unix socket paths made under it must stay within 107 bytes.
  const dir = mkdtempSync(join(tmpdir(), "sct-"));
  process.env.TMPDIR = dir;
  return () => {
    if (process.env.KEEP_TEST_TMP === "1") console.log(`test files kept in ${dir}`);
    else rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  };
}
