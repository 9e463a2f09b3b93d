// An iteration's experience token by token: what the critic predicted (V_t), the advantage each response token
// got (A_t) and its return, as an Arrow table (one row per token) that displays in a notebook as the responses
// coloured by advantage (green: pushed up, red: pushed down) above the token rows.

import * as arrow from 'apache-arrow';
import { escapeHtml, JUPYTER_DISPLAY, tableBundle, textTable, type MimeBundle } from '../viz/index.ts';
import type { Tokenizer } from '../tokenizer/index.ts';
import type { Experience } from './experience.ts';

export interface ExperienceTokensOptions {
  /** Which samples (rows of the experience), default the first 4. */
  samples?: number[];
}

const COLUMNS = ['sample', 'promptIndex', 'position', 'token', 'logprob', 'value', 'advantage', 'return', 'reward'] as const;
const DISPLAY_TOKENS = 40;

/** One row per response token of the chosen samples; `value` and `return` are null without a critic (GRPO). */
export class ExperienceTokens {
  readonly table: arrow.Table;

  constructor(readonly samples: number[], private readonly rows: unknown[][], private readonly rewards: number[]) {
    const col = (c: number) => rows.map((r) => r[c]);
    this.table = arrow.tableFromArrays(Object.fromEntries(COLUMNS.map((name, c) => [name, name === 'token'
      ? col(c) as string[] : Float64Array.from(col(c), (v) => (v === null ? NaN : (v as number)))])) as Record<string, string[] | Float64Array>);
  }

  get length(): number { return this.rows.length; }

  /** The response of one sample as coloured spans, each token's A and V in its tooltip. */
  private strip(sample: number, scale: number): string {
    const spans = this.rows.filter((r) => r[0] === sample).map((r) => {
      const a = r[6] as number;
      const alpha = scale > 0 ? Math.min(1, Math.abs(a) / scale) * 0.6 : 0;
      const bg = a >= 0 ? `rgba(0,160,60,${alpha.toFixed(2)})` : `rgba(220,40,40,${alpha.toFixed(2)})`;
      const v = r[5] === null ? '' : ` V=${(r[5] as number).toFixed(3)}`;
      return `<span style="background:${bg};white-space:pre" title="A=${a.toFixed(3)}${v}">${escapeHtml(r[3] as string)}</span>`;
    });
    const reward = this.rewards[this.samples.indexOf(sample)]!;
    return `<div style="font-family:monospace;margin:2px 0"><b>sample ${sample}</b> (reward ${reward}): ${spans.join('')}</div>`;
  }

  [JUPYTER_DISPLAY](): MimeBundle {
    const scale = this.rows.reduce((m, r) => Math.max(m, Math.abs(r[6] as number)), 0);
    const title = `${this.samples.length} samples, ${this.rows.length} response tokens (first ${Math.min(DISPLAY_TOKENS, this.rows.length)} rows shown)`;
    const table = tableBundle([...COLUMNS], this.rows, { maxRows: DISPLAY_TOKENS, title });
    const legend = '<p>Each token coloured by its advantage A_t (green above 0, red below; hover for A and V).</p>';
    return {
      ...table,
      'text/html': legend + this.samples.map((s) => this.strip(s, scale)).join('') + String(table['text/html']),
      'text/plain': `ExperienceTokens: ${title}\n${textTable([...COLUMNS], this.rows, { maxRows: DISPLAY_TOKENS })}`,
    };
  }
}

/** The per-token values, advantages and returns of some samples of `exp`, with their tokens decoded. */
export function experienceTokens(exp: Experience, tokenizer: Tokenizer, opts: ExperienceTokensOptions = {}): ExperienceTokens {
  const samples = opts.samples ?? Array.from({ length: Math.min(4, exp.N) }, (_, i) => i);
  for (const s of samples) {
    if (!(Number.isInteger(s) && s >= 0 && s < exp.N)) throw new RangeError(`experienceTokens: sample ${s} is not in the experience (0..${exp.N - 1})`);
  }
  const rows: unknown[][] = [];
  for (const i of samples) {
    for (let t = 0; t < exp.lengths[i]!; t++) {
      const at = i * exp.R + t;
      rows.push([
        i, exp.promptIndex[i]!, t, tokenizer.decode([exp.responseIds[at]!]), exp.oldLogprobs[at]!,
        exp.values ? exp.values[at]! : null, exp.advantages[at]!, exp.returns ? exp.returns[at]! : null, exp.rewards[i]!,
      ]);
    }
  }
  return new ExperienceTokens(samples, rows, samples.map((i) => exp.rewards[i]!));
}
