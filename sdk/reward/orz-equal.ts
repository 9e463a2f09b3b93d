// orzAnswerEqual: the answer equality of ORZ's reward, for the default mathReward.
// ORZ says equal when (1) its Hendrycks-stripped forms are equal as text or as floats, or (2) sympy
// finds the raw answers equal, or (3) their Minerva-normalised forms are equal as text or to sympy.
// Stages (1) and the text half of (3) are reproduced exactly (orz-strings.ts, one deliberate change
// about commas); sympy is stood in for by our parser and sympy-form.ts, held to sympy's strictness:
// no list, set or tuple is parsed (a comma ends sympy's reading; a list is never equal here), `\pm`
// is not expanded, `2\frac{1}{2}` is a product, an equation matches only side by side, \pi is a
// symbol, nothing is expanded, and numbers agree only to double precision.

import { Deadline, DeadlineExceeded } from './deadline.ts';
import { parseLatex } from './latex-expr.ts';
import { normalize } from './normalize.ts';
import { orzMinervaNormalize, orzStrip, pythonFloat } from './orz-strings.ts';
import { shapeOf } from './structure.ts';
import { formsEqual, sympyForm } from './sympy-form.ts';

const DEFAULT_TIMEOUT_MS = 2000;
// sympy's evalf gives 15 significant digits; a few units in the last place of a double allow for
// our evaluation order differing from sympy's.
const REL_TOL = 4e-15;
// ORZ skips sympy for long repetitive answers; we skip our stand-in for any answer this long.
const MAX_EXPRESSION_CHARS = 1000;

/** Stage (1): ORZ's first test on its stripped strings. */
function strippedEqual(truth: string, pred: string): boolean {
  const a = orzStrip(truth);
  const b = orzStrip(pred);
  if (a === null || b === null) return truth === pred;
  const x = pythonFloat(a);
  const y = pythonFloat(b);
  return x !== null && y !== null ? x === y : a === b;
}

/** Our stand-in for sympy's `parse_latex(a) == parse_latex(b)` (structural or evalf equality). */
function sympyLikeEqual(a: string, b: string, deadline: Deadline): boolean {
  if (a.length > MAX_EXPRESSION_CHARS || b.length > MAX_EXPRESSION_CHARS) return false;
  const x = normalize(a, true);
  const y = normalize(b, true);
  if (x === '' || y === '') return false;
  if (x === y) return true;
  const sx = shapeOf(x, deadline);
  const sy = shapeOf(y, deadline);
  if (sx.k === 'scalar' && sy.k === 'scalar') return sameForm(sx.text, sy.text, deadline);
  // sympy's Eq(a, b) equals Eq(c, d) when a is c and b is d.
  if (sx.k === 'equation' && sy.k === 'equation') return sameForm(sx.lhs, sy.lhs, deadline) && sameForm(sx.rhs, sy.rhs, deadline);
  return false;
}

/** Both parse (a mixed number is a product, as for sympy) and have the same sympy form. */
function sameForm(a: string, b: string, deadline: Deadline): boolean {
  try {
    const parse = (s: string) => sympyForm(parseLatex(s, deadline, { mixedNumbers: false }));
    return formsEqual(parse(a), parse(b), REL_TOL);
  } catch (e) {
    if (e instanceof DeadlineExceeded) throw e;
    return false;
  }
}

/**
 * ORZ's verdict on a predicted answer (already taken out of its box) against the reference.
 * Never throws: a parse failure or timeout counts as not equal, as in ORZ.
 */
export function orzAnswerEqual(truth: string, pred: string, opts: { timeoutMs?: number } = {}): boolean {
  if (typeof pred !== 'string' || typeof truth !== 'string') return false;
  if (strippedEqual(truth, pred)) return true;
  const deadline = new Deadline(opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  try {
    if (sympyLikeEqual(truth, pred, deadline)) return true;
    const a = orzMinervaNormalize(truth);
    const b = orzMinervaNormalize(pred);
    return a === b || sympyLikeEqual(a, b, deadline);
  } catch {
    return false;
  }
}
