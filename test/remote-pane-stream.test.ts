/**
 * A remote pane's bytes from a dropped link until its catch-up (actors/remote-pane-stream.ts):
 * what came before the capture's answer is in the capture, so only its
 * marker counts; what came after it is delivered once the catch-up is logged, in order.
 */
import { describe, expect, it } from "vitest";
import type { ChildExit } from "../machines/child-run.types.js";
import { MARKER_OSC, MarkerScanner } from "../actors/pty-shim.js";
import { PaneStream } from "../actors/remote-pane-stream.js";

const NONCE = "ab12";
const marker = (status: number) => Buffer.from(`\x1b]${MARKER_OSC};${NONCE};${status}\x07`);

function stream() {
  const delivered: string[] = [];
  const markers: ChildExit[] = [];
  const s = new PaneStream(new MarkerScanner(NONCE), {
    deliver: (d) => delivered.push(d.toString()),
    marker: (e) => markers.push(e),
  });
  return { s, delivered, markers };
}

describe("a remote pane's stream across a dropped link", () => {
  it("delivers at once while the link is up; the marker is taken out", () => {
    const { s, delivered, markers } = stream();
    s.push(Buffer.from("line 1\r\n"));
    s.push(Buffer.concat([Buffer.from("last\r\n"), marker(3)]));
    expect(delivered.join("")).toBe("line 1\r\nlast\r\n");
    expect(markers).toEqual([{ exitCode: 3, signal: null }]);
  });

  it("held from the drop; at the release, what the capture covers gives only its marker, the rest follows in order", () => {
    const { s, delivered, markers } = stream();
    s.hold();
    s.push(Buffer.from("in the capture\r\n"));
    s.push(marker(0));
    s.captured();
    s.push(Buffer.from("after the capture\r\n"));
    expect(delivered).toEqual([]); // nothing before the catch-up
    s.release();
    expect(markers).toEqual([{ exitCode: 0, signal: null }]);
    expect(delivered).toEqual(["after the capture\r\n"]);
    s.push(Buffer.from("live again\r\n"));
    expect(delivered).toEqual(["after the capture\r\n", "live again\r\n"]);
  });

  it("released without a capture (the resync failed, the run ended): every held byte is delivered", () => {
    const { s, delivered } = stream();
    s.hold();
    s.push(Buffer.from("a\r\n"));
    s.push(Buffer.from("b\r\n"));
    s.release();
    expect(delivered.join("")).toBe("a\r\nb\r\n");
  });
});
