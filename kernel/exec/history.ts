// In-memory input history for history_request: tail, range and search (glob patterns), as IPython answers
// them. One session per kernel process (session number 1; 0 means "the current session" in requests).

export const CURRENT_SESSION = 1;

interface Entry { line: number; input: string; output: string | null }

export type HistoryItem = [number, number, string] | [number, number, [string, string | null]];

export interface HistoryQuery {
  hist_access_type?: unknown; output?: unknown; session?: unknown; start?: unknown; stop?: unknown;
  n?: unknown; pattern?: unknown; unique?: unknown;
}

/** Glob (* ? [abc]) to an anchored RegExp, like sqlite's GLOB that IPython's history search uses. */
export function globToRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') re += '[\\s\\S]*';
    else if (c === '?') re += '[\\s\\S]';
    else if (c === '[') {
      const close = pattern.indexOf(']', i + 2);
      if (close < 0) re += '\\[';
      else {
        const body = pattern.slice(i + 1, close);
        re += `[${body.startsWith('^') ? `^${body.slice(1).replace(/\\/g, '\\\\')}` : body.replace(/\\/g, '\\\\')}]`;
        i = close;
      }
    } else re += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

function int(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) ? Math.trunc(value) : fallback;
}

export class History {
  readonly #entries: Entry[] = [];

  add(line: number, input: string): void {
    this.#entries.push({ line, input, output: null });
  }

  /** The text/plain of the execute_result of `line` (history with output=true). */
  setOutput(line: number, output: string): void {
    const e = this.#entries.findLast((x) => x.line === line);
    if (e) e.output = output;
  }

  get size(): number {
    return this.#entries.length;
  }

  query(q: HistoryQuery): HistoryItem[] {
    const withOutput = q.output === true;
    const item = (e: Entry): HistoryItem => (withOutput ? [CURRENT_SESSION, e.line, [e.input, e.output]] : [CURRENT_SESSION, e.line, e.input]);
    switch (q.hist_access_type) {
      case 'tail': {
        const n = int(q.n, 10);
        return n <= 0 ? [] : this.#entries.slice(-n).map(item);
      }
      case 'range': {
        const session = int(q.session, 0);
        if (session !== 0 && session !== CURRENT_SESSION) return [];
        const start = int(q.start, 1);
        const stop = q.stop === undefined || q.stop === null ? Infinity : int(q.stop, Infinity);
        return this.#entries.filter((e) => e.line >= start && e.line < stop).map(item);
      }
      case 'search': {
        const re = globToRegExp(typeof q.pattern === 'string' ? q.pattern : '*');
        let hits = this.#entries.filter((e) => re.test(e.input));
        if (q.unique === true) {
          // Keep the latest occurrence of each input, in history order.
          const last = new Map<string, Entry>();
          for (const e of hits) last.set(e.input, e);
          hits = hits.filter((e) => last.get(e.input) === e);
        }
        const n = q.n === undefined || q.n === null ? 0 : int(q.n, 0);
        return (n > 0 ? hits.slice(-n) : hits).map(item);
      }
      default:
        throw new Error(`history_request: hist_access_type must be "tail", "range" or "search", got ${JSON.stringify(q.hist_access_type)}`);
    }
  }
}
