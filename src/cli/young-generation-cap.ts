/**
 * Imported first by the `conductor` command (src/cli/main.ts), before the modules whose loading
 * grows V8's young generation: `conductor run` is a process that only supervises, so it stops that
 * growth at 2 MiB a semi-space, as the detached daemon's flags do (src/young-generation.ts says why
 * and what it costs). Other commands are short-lived and left alone.
 */
import { limitYoungGeneration } from "../young-generation.js";

if (process.argv[2] === "run") limitYoungGeneration();
