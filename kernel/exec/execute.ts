// execute_request: compile the cell, report type errors as warnings, run it in REPL mode with interrupts
// armed, show its last value, and answer with ok / error. Cells run one at a time (the dispatcher queues).

import { setAmbientHost } from '../../sdk/util/ambient.ts';
import { COOPERATIVE_GRACE_MS } from '../protocol/bridge.ts';
import type { JupyterMessage } from '../protocol/wire.ts';
import type { Displayer } from './display.ts';
import type { ReplEvaluator } from './evaluate.ts';
import type { History } from './history.ts';
import { LIVE_CHECK_FUNCTION } from './cell-context.ts';
import { Interrupted, INTERRUPT_CHECK_EXPRESSION, type InterruptState } from './interrupt.ts';
import type { KernelLink } from './link.ts';
import { CellImportError, CellSyntaxError, compileCell, displayContent, type CellLanguageService, type CompiledCell } from './parts.ts';
import type { StdinChannel } from './stdin.ts';
import type { StreamCapture } from './streams.ts';
import { formatError, formatSyntaxError, interruptedError, type CellRegistry, type ErrorContent } from './traceback.ts';

export interface ExecutorParts {
  link: KernelLink;
  streams: StreamCapture;
  evaluator: ReplEvaluator;
  interrupt: InterruptState;
  stdin: StdinChannel;
  displayer: Displayer;
  history: History;
  cells: CellRegistry;
  language: CellLanguageService;
  baseDir: string;
}

export interface ExecuteOutcome { status: 'ok' | 'error'; stopOnError: boolean }

export class Executor {
  executionCount = 0;
  #serial = 0;

  constructor(readonly parts: ExecutorParts) {}

  async execute(msg: JupyterMessage): Promise<ExecuteOutcome> {
    const c = msg.content;
    const code = typeof c['code'] === 'string' ? c['code'] : '';
    const silent = c['silent'] === true;
    const storeHistory = c['store_history'] !== false && !silent;
    const stopOnError = c['stop_on_error'] !== false;
    const { link, history } = this.parts;
    if (storeHistory) this.executionCount++;
    const count = this.executionCount;
    if (!silent) link.publish('execute_input', { code, execution_count: count }, msg.header);
    if (storeHistory) history.add(count, code);

    const result = await this.#run(msg, code, { count: storeHistory ? count : null, silent, allowStdin: c['allow_stdin'] === true });
    const userExpressions = result.status === 'ok' ? await this.#userExpressions(c['user_expressions']) : {};
    if (result.status === 'ok') {
      link.reply(msg, { status: 'ok', execution_count: count, payload: [], user_expressions: userExpressions });
    } else {
      if (!silent) link.publish('error', result.error, msg.header);
      link.reply(msg, { status: 'error', execution_count: count, ...result.error });
    }
    return { status: result.status, stopOnError };
  }

  async #run(msg: JupyterMessage, code: string, o: { count: number | null; silent: boolean; allowStdin: boolean }): Promise<{ status: 'ok' } | { status: 'error'; error: ErrorContent }> {
    const { link, streams, evaluator, interrupt, stdin, displayer, cells, language, baseDir, history } = this.parts;
    const serial = ++this.#serial;
    const label = o.count === null ? `Cell (not in history, #${serial})` : `In [${o.count}]`;
    const file = `orz-cell-${serial}.ts`;

    // Armed from the start, so an interrupt that arrives while the cell compiles or type-checks still stops it.
    let wake!: () => void;
    const interrupted = new Promise<void>((resolve) => (wake = resolve));
    let grace: NodeJS.Timeout | undefined;
    const signal = interrupt.start(({ repeated, cooperative }) => {
      // Abandon the cell's pending work now, unless it watches its signal and may still stop cleanly.
      if (repeated || !cooperative) wake();
      else grace ??= setTimeout(wake, COOPERATIVE_GRACE_MS);
    });
    try {
      let compiled: CompiledCell;
      try {
        compiled = compileCell(code, { baseDir, interruptCheck: INTERRUPT_CHECK_EXPRESSION, liveCheck: LIVE_CHECK_FUNCTION });
      } catch (e) {
        if (e instanceof CellSyntaxError) {
          const ename = e instanceof CellImportError ? 'ImportError' : 'SyntaxError';
          return { status: 'error', error: formatSyntaxError(ename, e.message, e.line, e.column, { label, source: code }) };
        }
        return { status: 'error', error: formatError(e, cells) };
      }
      if (!o.silent) this.#warnTypeErrors(code);
      cells.add({ file, label, source: code, sourceLine: (n) => compiled.sourceLine(n) });
      if (interrupt.takeEarly()) return { status: 'error', error: interruptedError() };

      stdin.request = o.allowStdin ? msg : null;
      setAmbientHost({ signal, display: (bundle, opts) => displayer.sendBundle({ data: bundle, metadata: {} }, opts ?? {}) });
      interrupt.watchFromNow();
      interrupt.userCode(true);
      // In the execution's async context: what the cell starts is abandoned with it if it is interrupted.
      const outcome = await evaluator.evaluate(`${compiled.js}\n//# sourceURL=${file}`, interrupted, (start) => interrupt.runInCell(start));
      interrupt.userCode(false);
      if (outcome.kind === 'interrupted' || (outcome.kind === 'error' && outcome.error instanceof Interrupted)) interrupt.noteInterrupted();
      language.commit(code);
      if (outcome.kind === 'interrupted') return { status: 'error', error: interruptedError() };
      if (outcome.kind === 'error') {
        const err = outcome.error;
        if (err instanceof Interrupted) return { status: 'error', error: interruptedError() };
        return { status: 'error', error: formatError(err, cells) };
      }
      if (outcome.value !== undefined && !o.silent) {
        const content = await displayContent(outcome.value);
        if (content) {
          link.publish('execute_result', { execution_count: o.count ?? this.executionCount, data: content.data, metadata: content.metadata }, msg.header);
          const plain = content.data['text/plain'];
          if (o.count !== null && typeof plain === 'string') history.setOutput(o.count, plain);
        }
      }
      return { status: 'ok' };
    } catch (e) {
      // Formatting the result failed, or something in the kernel did: still an error of this cell.
      return { status: 'error', error: formatError(e, cells) };
    } finally {
      clearTimeout(grace);
      interrupt.end();
      stdin.request = null;
      streams.parent = msg.header; // output of work the cell left running is still attributed to it
    }
  }

  #warnTypeErrors(code: string): void {
    const { language, streams } = this.parts;
    let diagnostics;
    try {
      diagnostics = language.diagnostics(code);
    } catch (e) {
      streams.warn(`(type check failed: ${(e as Error).message})\n`);
      return;
    }
    for (const d of diagnostics) streams.warn(`cell:${d.line}:${d.column} - warning TS${d.code}: ${d.message}\n`);
  }

  /** user_expressions: each evaluated after the cell, reported as a display bundle or an error. */
  async #userExpressions(raw: unknown): Promise<Record<string, unknown>> {
    const out: Record<string, unknown> = {};
    if (!raw || typeof raw !== 'object') return out;
    for (const [name, expr] of Object.entries(raw as Record<string, unknown>)) {
      try {
        const compiled = compileCell(String(expr), { baseDir: this.parts.baseDir, interruptCheck: INTERRUPT_CHECK_EXPRESSION, liveCheck: LIVE_CHECK_FUNCTION });
        const outcome = await this.parts.evaluator.evaluate(compiled.js, new Promise(() => {}));
        if (outcome.kind !== 'value') throw outcome.kind === 'error' ? outcome.error : new Interrupted();
        const content = await displayContent(outcome.value);
        out[name] = { status: 'ok', data: content?.data ?? { 'text/plain': 'undefined' }, metadata: content?.metadata ?? {} };
      } catch (e) {
        out[name] = { status: 'error', ...formatError(e, this.parts.cells) };
      }
    }
    return out;
  }
}
