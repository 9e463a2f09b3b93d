// The session's event stream as a client sees it: `on(name, fn)` callbacks, or `for await` over the events
// that arrive from the moment the loop starts. Events: iteration {handle, name, row, checkpointed},
// log {handle, name, line}, checkpoint {handle, name, iteration}, handle {action, handle},
// call {callId, op, handle, client, state}, worker {worker, pid, state, ...} (a rollout worker ready or exited),
// shutdown {name}.

export interface SessionEvent { event: string; data: any; time: number }

type Listener = (data: any, event: SessionEvent) => void;

export class SessionEvents implements AsyncIterable<SessionEvent> {
  readonly #listeners = new Map<string, Set<Listener>>();
  readonly #iterators = new Set<{ queue: SessionEvent[]; wake: (() => void) | null }>();
  #closed = false;

  /** Calls fn for each event of this name ("*" for all); returns a function that stops it. */
  on(event: string, fn: Listener): () => void {
    let set = this.#listeners.get(event);
    if (!set) this.#listeners.set(event, (set = new Set()));
    set.add(fn);
    return () => set!.delete(fn);
  }

  /** The next event of this name (optionally one that `where` accepts). */
  next(event: string, where: (data: any) => boolean = () => true, opts: { signal?: AbortSignal } = {}): Promise<any> {
    return new Promise((resolve, reject) => {
      const onAbort = () => { off(); reject(opts.signal!.reason); };
      const off = this.on(event, (data) => {
        if (!where(data)) return;
        off();
        opts.signal?.removeEventListener('abort', onAbort);
        resolve(data);
      });
      if (opts.signal?.aborted) onAbort();
      else opts.signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Delivers one event (called by the session client). */
  push(event: string, data: unknown): void {
    const ev: SessionEvent = { event, data, time: Date.now() };
    for (const key of [event, '*']) {
      for (const fn of this.#listeners.get(key) ?? []) {
        try {
          fn(data, ev);
        } catch (e) {
          process.stderr.write(`orz session: a "${key}" event listener threw: ${(e as Error).message}\n`);
        }
      }
    }
    for (const it of this.#iterators) {
      it.queue.push(ev);
      it.wake?.();
    }
  }

  close(): void {
    this.#closed = true;
    for (const it of this.#iterators) it.wake?.();
  }

  [Symbol.asyncIterator](): AsyncIterator<SessionEvent> {
    const it = { queue: [] as SessionEvent[], wake: null as (() => void) | null };
    this.#iterators.add(it);
    return {
      next: async () => {
        while (it.queue.length === 0 && !this.#closed) await new Promise<void>((r) => (it.wake = r));
        it.wake = null;
        if (it.queue.length === 0) {
          this.#iterators.delete(it);
          return { done: true, value: undefined };
        }
        return { done: false, value: it.queue.shift()! };
      },
      return: async () => {
        this.#iterators.delete(it);
        return { done: true, value: undefined };
      },
    };
  }
}
