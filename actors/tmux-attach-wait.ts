/**
 * Callers waiting for a tmux control client to (re)attach. Each wait has its own bound, which
 * is extended while an attach is under way: time spent attaching to a host that answers is not
 * "unreachable" (the exec runs the user's shell rc files, pyenv/conda init can take seconds),
 * and the attach has its own open timeout.
 */
interface Waiter {
  resolve: () => void;
  reject: (e: Error) => void;
}

export class AttachWaiters {
  private readonly waiters = new Set<Waiter>();

  get size(): number {
    return this.waiters.size;
  }

  /** Resolves at `resolveAll`, rejects at `rejectAll` or with `expired()` after `timeoutMs`. */
  wait(timeoutMs: number, attaching: () => boolean, expired: () => Error): Promise<void> {
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout;
      const w: Waiter = {
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      const expire = () => {
        if (attaching()) {
          timer = setTimeout(expire, timeoutMs);
          return;
        }
        this.waiters.delete(w);
        reject(expired());
      };
      timer = setTimeout(expire, timeoutMs);
      this.waiters.add(w);
    });
  }

  resolveAll(): void {
    for (const w of [...this.waiters]) w.resolve();
    this.waiters.clear();
  }

  rejectAll(e: Error): void {
    for (const w of [...this.waiters]) w.reject(e);
    this.waiters.clear();
  }
}
