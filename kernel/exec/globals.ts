// The names a cell finds on globalThis: display, clearOutput, input, require (resolving from the notebook's
// directory) and `Jupyter` (the same functions plus comms), the Deno-kernel-compatible convention.

import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { CommApi } from './comms.ts';
import type { Displayer, DisplayOptions } from './display.ts';
import type { StdinChannel } from './stdin.ts';

export interface JupyterGlobal {
  display(value: unknown, opts?: DisplayOptions): void | Promise<void>;
  clearOutput(wait?: boolean): void;
  input(prompt?: string, opts?: { password?: boolean }): string;
  comm: CommApi;
  /** The key objects use to give their own mime bundle: obj[Jupyter.displaySymbol]() (= Symbol.for('Jupyter.display')). */
  displaySymbol: symbol;
}

export function installGlobals(opts: { baseDir: string; displayer: Displayer; stdin: StdinChannel; comm: CommApi }): JupyterGlobal {
  const { displayer, stdin } = opts;
  const jupyter: JupyterGlobal = {
    display: (value, o) => displayer.display(value, o),
    clearOutput: (wait) => displayer.clearOutput(wait),
    input: (prompt, o) => stdin.input(prompt, o),
    comm: opts.comm,
    displaySymbol: Symbol.for('Jupyter.display'),
  };
  const g = globalThis as Record<string, unknown>;
  g['Jupyter'] = jupyter;
  g['display'] = jupyter.display;
  g['clearOutput'] = jupyter.clearOutput;
  g['input'] = jupyter.input;
  // Cells run as REPL scripts, where `require` does not exist; CommonJS packages of the notebook's project load with this one.
  g['require'] ??= createRequire(join(opts.baseDir, 'index.js'));
  return jupyter;
}
