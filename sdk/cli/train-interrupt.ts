// Ctrl-C in `orz train`. The first SIGINT asks the run loop to stop after the iteration in progress (its
// update and evaluation included, or the base-model evaluation): that iteration is recorded, checkpointed and
// reported, and the command exits 0 saying where it stopped and how to continue. A second SIGINT stops at once
// with exit 130 (the shell's code for "stopped by SIGINT", so `orz train ... && next` does not go on), saying
// what is lost (the work in flight) and what is kept (the newest complete checkpoint), read from the disk
// because the in-flight work may be in the middle of writing it.

import { existsSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { newestCompleteCheckpoint } from '../hub/checkpoint-path.ts';
import { describePhase, type LoopPhase } from '../run/loop.ts';

export interface Interrupts {
  /** Aborted by the first Ctrl-C: the run loop's `stop`. */
  stop: AbortSignal;
  /** The run loop's onPhase: what is in flight. */
  onPhase(phase: LoopPhase): void;
  /** Removes the SIGINT handler. */
  dispose(): void;
}

/** The iteration of the last complete line of metrics.jsonl, or null. */
function lastRecordedIteration(runDir: string): number | null {
  const path = join(runDir, 'metrics.jsonl');
  if (!existsSync(path)) return null;
  const lines = readFileSync(path, 'utf8').split('\n').slice(0, -1); // after the last newline: a torn line, if any
  for (const line of lines.reverse()) {
    try {
      const it = (JSON.parse(line) as { iteration?: unknown }).iteration;
      if (typeof it === 'number') return it;
    } catch { /* a torn line: the one before it counts */ }
  }
  return null;
}

/** The newest complete checkpoint of the run and its iteration, or null. */
export function keptCheckpoint(runDir: string): { dir: string; iteration: number } | null {
  const root = join(runDir, 'checkpoints');
  const dir = existsSync(root) ? newestCompleteCheckpoint(root) : null;
  return dir ? { dir, iteration: Number(/iter-(\d+)$/.exec(dir)![1]) } : null;
}

/** The lines of a second Ctrl-C: what is lost (`inFlight`), what is kept, how to continue. */
export function stopNowMessage(inFlight: string, runDir: string, resume: string): string {
  const kept = keptCheckpoint(runDir);
  const recorded = lastRecordedIteration(runDir);
  const lines = [`interrupt: stopping now; the work in flight (${inFlight}) is lost.`];
  if (kept) {
    const after = recorded === kept.iteration + 1 ? `iteration ${recorded} is` : `iterations ${kept.iteration + 1}-${recorded} are`;
    const redo = recorded !== null && recorded > kept.iteration ? `; ${after} in metrics.jsonl but not checkpointed, and run again` : '';
    lines.push(`kept: checkpoint ${kept.dir} (iteration ${kept.iteration})${redo}. Continue with: ${resume}`);
  } else {
    lines.push(`kept: no checkpoint yet${recorded !== null ? ` (metrics up to iteration ${recorded})` : ''}. ${resume} starts over from iteration 0`);
  }
  return `\n${lines.join('\n')}\n`;
}

/**
 * Installs the SIGINT handler of `orz train` for the run in `runDir`; `resume` is the command line that
 * continues it (for the messages).
 */
export function handleInterrupts(runDir: string, resume: string): Interrupts {
  const stop = new AbortController();
  let phase: LoopPhase | null = null;
  const onSigint = () => {
    if (!stop.signal.aborted) {
      process.stderr.write(`\ninterrupt: finishing ${phase ? describePhase(phase) : 'the iteration in progress'}${phase?.kind === 'iteration' ? ' (with its evaluation, if due)' : ''}, ` +
        'then checkpointing and stopping. Ctrl-C again to stop at once, losing it\n');
      stop.abort(new Error('interrupted'));
      return;
    }
    // written synchronously: nothing after process.exit runs
    writeSync(2, stopNowMessage(phase ? describePhase(phase) : 'the start of the run', runDir, resume));
    process.exit(130);
  };
  process.on('SIGINT', onSigint);
  return { stop: stop.signal, onPhase: (p) => { phase = p; }, dispose: () => process.off('SIGINT', onSigint) };
}
