/** Collects a follower's text; `until(pred)` resolves when the text so far satisfies it. */
export function collector() {
  let text = "";
  const waiters = new Set<() => void>();
  return {
    push(chunk: string) {
      text += chunk;
      for (const w of waiters) w();
    },
    get text() {
      return text;
    },
    until(pred: (text: string) => boolean): Promise<void> {
      return new Promise((resolve) => {
        const check = () => {
          if (!pred(text)) return;
          waiters.delete(check);
          resolve();
        };
        waiters.add(check);
        check();
      });
    },
  };
}
