/**
 * Polls `test` every 10 ms until it holds; throws naming `what` after `timeoutMs`. A bound for a
 * hung test, not a timing gate: a loaded machine only makes it wait longer.
 */
export async function waitUntil(test: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!test()) {
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
