// mathAnswerEqual: is a predicted final answer the same as the reference answer?
// Three tests, cheapest first: equal normalised strings; equal shapes whose parts are equal numbers
// (relative tolerance 1e-6); equal expressions, judged by agreeing at seeded random points.

import { Rng } from '../engine/rng.ts';
import { Deadline, DeadlineExceeded } from './deadline.ts';
import { evaluate, type Complex } from './evaluate.ts';
import { parseLatex, variablesOf, type Node } from './latex-expr.ts';
import { normalize } from './normalize.ts';
import { shapeOf, type Shape } from './structure.ts';

const MAX_ANSWER_CHARS = 1000;
const DEFAULT_TIMEOUT_MS = 2000;
const REL_TOL = 1e-6;
const ABS_TOL = 1e-9;
const POINTS = 6;
const SEED = 0x5eed;

/** True iff `pred` and `truth` denote the same answer. Never throws: a parse failure or timeout is false. */
export function mathAnswerEqual(pred: string, truth: string, opts: { timeoutMs?: number } = {}): boolean {
  if (typeof pred !== 'string' || typeof truth !== 'string') return false;
  // Past the cap only an exact match counts, so the time a check takes stays bounded.
  if (pred.length > MAX_ANSWER_CHARS || truth.length > MAX_ANSWER_CHARS) return pred.trim() === truth.trim();
  const deadline = new Deadline(opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  try {
    const a = normalize(pred, false);
    const b = normalize(truth, false);
    if (a === b) return true;
    if (a === '' || b === '') return false;
    // Word answers (\text{east}, Evelyn) are words, not products of variables.
    if (isWord(a) || isWord(b)) return a.toLowerCase() === b.toLowerCase();
    if (/^[-+]?\d+$/.test(a) && /^[-+]?\d+$/.test(b)) return BigInt(a) === BigInt(b);
    const comparer = new Comparer(deadline);
    if (comparer.shapesEqual(shapeOf(a, deadline), shapeOf(b, deadline))) return true;
    // `y = 2x + 3` lost its `y =` above; as an equation it may still match `2x - y + 3 = 0`.
    const ea = normalize(pred, true);
    const eb = normalize(truth, true);
    if (ea === a && eb === b) return false;
    return comparer.shapesEqual(shapeOf(ea, deadline), shapeOf(eb, deadline));
  } catch {
    return false;
  }
}

function isWord(s: string): boolean {
  return /^[a-zA-Z]{3,}$/.test(s);
}

class Comparer {
  private readonly parsed = new Map<string, Node | null>();

  constructor(private readonly deadline: Deadline) {}

  shapesEqual(a: Shape, b: Shape): boolean {
    this.deadline.check();
    switch (a.k) {
      case 'scalar':
        return b.k === 'scalar' && this.scalarsEqual(a.text, b.text);
      case 'tuple':
        return b.k === 'tuple' && a.open === b.open && a.close === b.close && a.items.length === b.items.length
          && a.items.every((x, i) => this.shapesEqual(x, b.items[i]!));
      case 'set':
        return b.k === 'set' && this.unorderedEqual(a.items, b.items);
      case 'matrix':
        return b.k === 'matrix' && a.rows.length === b.rows.length && a.rows.every((row, i) => {
          const other = b.rows[i]!;
          return row.length === other.length && row.every((x, j) => this.shapesEqual(x, other[j]!));
        });
      case 'equation':
        return b.k === 'equation' && this.equationsEqual(a, b);
    }
  }

  /** Multiset equality by greedy matching (fine because equality is, in practice, transitive). */
  private unorderedEqual(a: Shape[], b: Shape[]): boolean {
    if (a.length !== b.length) return false;
    const used = new Array<boolean>(b.length).fill(false);
    return a.every((x) => {
      const j = b.findIndex((y, k) => !used[k] && this.shapesEqual(x, y));
      if (j < 0) return false;
      used[j] = true;
      return true;
    });
  }

  private parse(text: string): Node | null {
    if (!this.parsed.has(text)) {
      let node: Node | null = null;
      try { node = parseLatex(text, this.deadline); } catch (e) { if (e instanceof DeadlineExceeded) throw e; }
      this.parsed.set(text, node);
    }
    return this.parsed.get(text)!;
  }

  private scalarsEqual(a: string, b: string): boolean {
    if (a === b) return true;
    const x = this.parse(a);
    const y = this.parse(b);
    if (!x || !y) return false;
    return this.agree(x, y, (p, q) => numbersClose(p, q));
  }

  /** L1 = R1 and L2 = R2 are the same equation when L1 - R1 is a nonzero constant times L2 - R2. */
  private equationsEqual(a: { lhs: string; rhs: string }, b: { lhs: string; rhs: string }): boolean {
    if (this.scalarsEqual(a.lhs, b.lhs) && this.scalarsEqual(a.rhs, b.rhs)) return true;
    const l1 = this.parse(a.lhs), r1 = this.parse(a.rhs), l2 = this.parse(b.lhs), r2 = this.parse(b.rhs);
    if (!l1 || !r1 || !l2 || !r2) return false;
    const f: Node = { k: 'op', op: '-', a: l1, b: r1 };
    const g: Node = { k: 'op', op: '-', a: l2, b: r2 };
    let ratio: Complex | null = null;
    return this.agree(f, g, (p, q) => {
      if (isZero(q)) return isZero(p);
      ratio ??= { re: (p.re * q.re + p.im * q.im) / (q.re ** 2 + q.im ** 2), im: (p.im * q.re - p.re * q.im) / (q.re ** 2 + q.im ** 2) };
      if (isZero(ratio)) return false;
      return numbersClose(p, { re: ratio.re * q.re - ratio.im * q.im, im: ratio.re * q.im + ratio.im * q.re });
    });
  }

  /**
   * Evaluate both trees at the same seeded random points for their variables and apply `same` to
   * each pair of values. Points where both values are undefined (NaN) are skipped; at least half
   * of the points must be usable.
   */
  private agree(x: Node, y: Node, same: (p: Complex, q: Complex) => boolean): boolean {
    const names = [...variablesOf(y, variablesOf(x))].sort();
    const rng = new Rng(SEED);
    const points = names.length === 0 ? 1 : POINTS;
    let usable = 0;
    for (let k = 0; k < points; k++) {
      // Positive, non-integer values: lengths and counts are positive, and integers hide x^2 vs 2x at 2.
      const env = new Map(names.map((n) => [n, 0.31 + 2.7 * rng.next()] as [string, number]));
      const p = evaluate(x, env, this.deadline);
      const q = evaluate(y, env, this.deadline);
      if (isNaNValue(p) && isNaNValue(q)) continue;
      if (!same(p, q)) return false;
      usable++;
    }
    return usable * 2 >= points;
  }
}

function isNaNValue(z: Complex): boolean {
  return Number.isNaN(z.re) || Number.isNaN(z.im);
}

function isZero(z: Complex): boolean {
  return Math.hypot(z.re, z.im) <= ABS_TOL;
}

/** Equal within relative 1e-6 (absolute 1e-9 near 0); two integers must be exactly equal. */
function numbersClose(p: Complex, q: Complex): boolean {
  if (p.re === q.re && p.im === q.im) return true; // also equal infinities
  if (![p.re, p.im, q.re, q.im].every(Number.isFinite)) return false;
  if (p.im === 0 && q.im === 0 && nearInteger(p.re) && nearInteger(q.re) && Math.abs(p.re) >= 1 && Math.abs(q.re) >= 1) {
    // 1000000 vs 1000001 differ by 1e-6 relatively but are different integers.
    return Math.round(p.re) === Math.round(q.re);
  }
  const diff = Math.hypot(p.re - q.re, p.im - q.im);
  const scale = Math.max(Math.hypot(p.re, p.im), Math.hypot(q.re, q.im));
  return diff <= ABS_TOL || diff <= REL_TOL * scale;
}

function nearInteger(v: number): boolean {
  return Math.abs(v) <= 2 ** 53 && Math.abs(v - Math.round(v)) <= 1e-9 * Math.max(1, Math.abs(v));
}
