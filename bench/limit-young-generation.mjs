// Preloaded (`node --import`) into bench/scale.mjs for the row "a default node that limits its young
// generation": what an embedder does first thing in its main module, before importing the conductor
// (src/young-generation.ts; its own entry point, so the call comes before the package's modules load).
import { limitYoungGeneration } from "../dist/src/young-generation.js";

limitYoungGeneration();
