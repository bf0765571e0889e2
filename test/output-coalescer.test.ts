/**
 * The output coalescer: each CHILD.OUTPUT reports only bytes its screen reading shows, and the last
 * bytes of a burst always get an event. Renders are promises the test resolves by hand and timers are
 * vitest's fake ones, so the interleavings a loaded machine produces are made on purpose.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { OutputCoalescer } from "../actors/output-coalescer.js";

/** A screen whose renders finish when the test says: `shown` is how many bytes it displays. */
function slowScreen() {
  let counted = 0;
  const renders: Array<{ upTo: number; done: () => void }> = [];
  const screen = {
    shown: 0,
    /** Like ScreenTail.write: the promise of the latest write, covering every byte written before it. */
    last: Promise.resolve() as Promise<unknown>,
    write(n: number) {
      counted += n;
      const upTo = counted;
      screen.last = new Promise<void>((resolve) => {
        renders.push({
          upTo,
          done: () => {
            screen.shown = Math.max(screen.shown, upTo);
            resolve();
          },
        });
      });
    },
    /** Finish the oldest render still running. */
    finishNext() {
      renders.shift()?.done();
    },
  };
  return screen;
}

/** A coalescer over that screen, recording each event's byte count beside what the screen showed then. */
function coalescerOn(screen: ReturnType<typeof slowScreen>) {
  const events: Array<{ bytes: number; shown: number }> = [];
  const c = new OutputCoalescer({
    windowMs: 100,
    rendered: () => screen.last,
    emit: (bytes) => events.push({ bytes, shown: screen.shown }),
  });
  return { screen, events, c };
}

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe("OutputCoalescer", () => {
  it("bytes that arrive while a render is awaited get their own event once the screen shows them", async () => {
    const { screen, events, c } = coalescerOn(slowScreen());
    const arrive = (n: number) => {
      screen.write(n);
      c.arrived(n);
    };
    arrive(10); // leading edge: the event waits for this render
    arrive(5); // the last screen (a question), arriving during that wait: likely on a loaded machine
    await vi.advanceTimersByTimeAsync(0);
    expect(events).toEqual([]);
    screen.finishNext(); // the first render is done, the second still running when the screen is read
    await vi.advanceTimersByTimeAsync(0);
    expect(events).toEqual([{ bytes: 10, shown: 10 }]);
    // The trailing event, a window later, once the screen shows the last bytes; then nothing more.
    await vi.advanceTimersByTimeAsync(100);
    screen.finishNext();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(events).toEqual([
      { bytes: 10, shown: 10 },
      { bytes: 15, shown: 15 },
    ]);
  });

  it("drain reports what is left once every render is done, even bytes that came during the last one", async () => {
    const { screen, events, c } = coalescerOn(slowScreen());
    screen.write(7);
    c.arrived(7);
    screen.finishNext();
    await vi.advanceTimersByTimeAsync(0);
    screen.write(3);
    c.arrived(3);
    const drained = c.drain();
    await vi.advanceTimersByTimeAsync(0); // the drain waits for the render of 10 bytes
    screen.write(2); // data after the exit (node-pty#72): arrives during that wait
    c.arrived(2);
    screen.finishNext();
    await vi.advanceTimersByTimeAsync(0);
    expect(events).toEqual([{ bytes: 7, shown: 7 }]); // not yet: 12 bytes counted, 10 shown
    screen.finishNext();
    await drained;
    expect(events).toEqual([
      { bytes: 7, shown: 7 },
      { bytes: 12, shown: 12 },
    ]);
  });
});
