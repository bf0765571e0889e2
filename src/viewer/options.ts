/**
 * `startViewer`'s options, checked up front with the schema and the error of `createConductor`'s:
 * a typo (`prot: 8080`) is refused naming the known keys instead of being ignored, and every
 * refusal is an OptionsError (`INVALID_OPTIONS`) listing each problem with an example.
 */
import { z } from "zod";
import type { ControlHandler } from "../control/handler.js";
import { checkOptions } from "../schema/check-options.js";
import { describeValue } from "../schema/issues.js";
import { doc, shownAs } from "../schema/primitives.js";

const LOOPBACK = "127.0.0.1";

export const viewerOptionsSchema = doc(
  z.strictObject({
    port: doc(z.number().int().min(0).max(65_535), {
      description: "the port to listen on; 0 picks a free one",
      example: 0,
      default: 0,
    }).optional(),
    host: doc(
      z.literal(LOOPBACK, {
        error: (iss) =>
          `must be "${LOOPBACK}" (the viewer has no authentication, so it only listens on loopback), got ${describeValue(iss.input)}`,
      }),
      { description: "only loopback is accepted", example: LOOPBACK, default: LOOPBACK },
    ).optional(),
    historySize: doc(z.number().int().min(0).max(1_000), {
      description: "transitions kept per session for the page",
      example: 12,
      default: 12,
    }).optional(),
    title: doc(z.string(), {
      description: "the page's title",
      example: "nightly",
      default: "statechart-conductor",
    }).optional(),
    control: doc(
      shownAs(
        z.custom<ControlHandler>(
          (v) =>
            typeof v === "object" &&
            v !== null &&
            ["handle", "release", "sessions"].every((m) => typeof (v as Record<string, unknown>)[m] === "function"),
          { message: "must be a control handler (createControlHandler(…), or the run's control.handler)" },
        ),
        "object",
      ),
      { description: "the control protocol's handler the page's controls go through", example: "control.handler" },
    ).optional(),
  }),
  { description: "startViewer(source, options)", example: { port: 0, title: "nightly" } },
);

/** Throws an OptionsError naming every bad option of `startViewer`, its problem and an example. */
export function validateViewerOptions(opts: unknown): void {
  checkOptions(viewerOptionsSchema, opts, "startViewer", "{ port: 0 }");
}
