// Shell requests on the main thread, one at a time in arrival order, each wrapped in busy/idle status.
// After a failed execute_request with stop_on_error, execute requests already queued are answered
// "aborted" without running, as ipykernel does (a notebook's "run all" stops at the first error).

import type { JupyterMessage } from '../protocol/wire.ts';
import type { CommManager } from './comms.ts';
import type { Executor } from './execute.ts';
import type { History } from './history.ts';
import type { KernelLink } from './link.ts';
import { codePointToUtf16, isComplete, utf16ToCodePoint, type CellLanguageService } from './parts.ts';
import type { StreamCapture } from './streams.ts';
import { logToStderr } from '../protocol/outbox.ts';

export interface DispatcherParts {
  link: KernelLink;
  streams: StreamCapture;
  executor: Executor;
  history: History;
  comms: CommManager;
  language: CellLanguageService;
  kernelInfo(): Record<string, unknown>;
  /** Called after every execute_request (the kernel refreshes its banner once a tensor backend is active). */
  afterExecute(): void;
  /** Pulls requests that already arrived but were not delivered yet (so "queued" means queued at the time of an error). */
  drainPending(): void;
}

export class ShellDispatcher {
  readonly #queue: JupyterMessage[] = [];
  #running = false;

  constructor(readonly parts: DispatcherParts) {}

  enqueue(msg: JupyterMessage): void {
    this.#queue.push(msg);
    if (!this.#running) void this.#drain();
  }

  async #drain(): Promise<void> {
    this.#running = true;
    try {
      for (let msg = this.#queue.shift(); msg; msg = this.#queue.shift()) {
        await this.#handle(msg);
        this.parts.link.shellDone();
      }
    } finally {
      this.#running = false;
    }
  }

  async #handle(msg: JupyterMessage): Promise<void> {
    const { link, streams } = this.parts;
    link.status('busy', msg.header);
    // Output belongs to the request whose user code runs: cells and comm handlers (not completions etc.,
    // so a timer printing from an earlier cell is not attributed to a completion request).
    if (msg.header.msg_type === 'execute_request' || msg.header.msg_type.startsWith('comm_')) streams.parent = msg.header;
    try {
      if (msg.header.msg_type === 'execute_request') {
        const outcome = await this.parts.executor.execute(msg);
        this.parts.afterExecute();
        if (outcome.status === 'error' && outcome.stopOnError) this.#abortQueuedExecutes();
      } else {
        await this.#handleOther(msg);
      }
    } catch (e) {
      if (msg.header.msg_type.endsWith('_request')) {
        logToStderr(`${msg.header.msg_type} failed: ${(e as Error).stack ?? e}`);
        link.reply(msg, { status: 'error', ename: (e as Error).name ?? 'Error', evalue: (e as Error).message ?? String(e), traceback: [] });
      } else {
        // comm_open / comm_msg / comm_close have no reply: a failing handler is user code, its error goes to the notebook.
        process.stderr.write(`${msg.header.msg_type} handler failed: ${(e as Error).stack ?? e}\n`);
      }
    } finally {
      link.status('idle', msg.header);
    }
  }

  #abortQueuedExecutes(): void {
    this.parts.drainPending();
    const { link, executor } = this.parts;
    const keep: JupyterMessage[] = [];
    for (const m of this.#queue.splice(0)) {
      if (m.header.msg_type !== 'execute_request') {
        keep.push(m);
        continue;
      }
      link.status('busy', m.header);
      link.reply(m, { status: 'aborted', execution_count: executor.executionCount });
      link.status('idle', m.header);
      link.shellDone();
    }
    this.#queue.push(...keep);
  }

  async #handleOther(msg: JupyterMessage): Promise<void> {
    const { link, language, history, comms } = this.parts;
    const c = msg.content;
    const code = typeof c['code'] === 'string' ? c['code'] : '';
    switch (msg.header.msg_type) {
      case 'kernel_info_request':
        link.reply(msg, this.parts.kernelInfo());
        return;
      case 'is_complete_request': {
        const r = isComplete(code);
        link.reply(msg, r.status === 'incomplete' ? { status: r.status, indent: r.indent } : { status: r.status });
        return;
      }
      case 'complete_request': {
        const cursor = codePointToUtf16(code, typeof c['cursor_pos'] === 'number' ? c['cursor_pos'] : [...code].length);
        const r = language.complete(code, cursor);
        const cp = (offset: number): number => utf16ToCodePoint(code, offset);
        link.reply(msg, {
          status: 'ok', matches: r.matches, cursor_start: cp(r.cursorStart), cursor_end: cp(r.cursorEnd),
          metadata: { _jupyter_types_experimental: r.types.map((t) => ({ text: t.text, type: t.type, start: cp(t.start), end: cp(t.end) })) },
        });
        return;
      }
      case 'inspect_request': {
        const cursor = codePointToUtf16(code, typeof c['cursor_pos'] === 'number' ? c['cursor_pos'] : [...code].length);
        const r = language.inspect(code, cursor, c['detail_level'] === 1 ? 1 : 0);
        link.reply(msg, { status: 'ok', found: r.found, data: r.found ? { 'text/plain': r.plain, 'text/markdown': r.markdown } : {}, metadata: {} });
        return;
      }
      case 'history_request':
        link.reply(msg, { status: 'ok', history: history.query(c) });
        return;
      default:
        if (await comms.handle(msg)) return;
        logToStderr(`shell: unsupported request ${msg.header.msg_type}`);
    }
  }
}
