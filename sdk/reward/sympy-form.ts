// The canonical form sympy gives a parsed answer, approximately, so that the default reward can
// judge expressions the way ORZ's checker does (`sympy.parse_latex(a).evalf() == ...(b).evalf()`).
// What sympy does, and so this form: numbers are floats; every name is a symbol, \pi, e and i
// included (parse_latex makes them Symbols); like terms are collected and powers of one base
// merged; a number times a sum is multiplied out (2(x+1) is 2x+2) but nothing else is expanded,
// so (x+1)^2 and x^2+2x+1 stay different. Anything not modelled here throws, and the caller
// counts the answers as different.

import type { Node } from './latex-expr.ts';

type Exponent = number | Form;
/** One product: a coefficient and its factors, base key -> exponent. */
interface Term { c: number; f: Map<string, Exponent> }
/** A sum of products, keyed by the product's factors. */
export interface Form { terms: Map<string, Term> }

class Unsupported extends Error {}

const fmt = (v: number): string => (Number.isInteger(v) ? String(v) : v.toPrecision(12));

function expKey(e: Exponent): string {
  return typeof e === 'number' ? fmt(e) : `(${formKey(e)})`;
}

function monomialKey(f: Map<string, Exponent>): string {
  return [...f].map(([b, e]) => `${b}^${expKey(e)}`).sort().join('*');
}

/** A string that two forms share iff they are the same form (coefficients to 12 digits). */
export function formKey(a: Form): string {
  return [...a.terms].map(([k, t]) => `${fmt(t.c)}*${k}`).sort().join('+');
}

function fromTerms(terms: Term[]): Form {
  const out = new Map<string, Term>();
  for (const t of terms) {
    const k = monomialKey(t.f);
    const prev = out.get(k);
    if (prev) prev.c += t.c;
    else out.set(k, { c: t.c, f: t.f });
  }
  const scale = Math.max(0, ...[...out.values()].map((t) => Math.abs(t.c)));
  for (const [k, t] of out) if (Math.abs(t.c) <= 1e-13 * scale || t.c === 0) out.delete(k);
  return { terms: out };
}

function constant(c: number): Form {
  if (!Number.isFinite(c)) throw new Unsupported('not a finite number');
  return fromTerms([{ c, f: new Map() }]);
}

/** The value of a form without symbols, else null. */
function constantValue(a: Form): number | null {
  if (a.terms.size === 0) return 0;
  if (a.terms.size !== 1) return null;
  const t = [...a.terms.values()][0]!;
  return t.f.size === 0 ? t.c : null;
}

function single(a: Form): Term | null {
  return a.terms.size === 1 ? [...a.terms.values()][0]! : null;
}

function factor(base: string, e: Exponent, c = 1): Form {
  return fromTerms([{ c, f: new Map([[base, e]]) }]);
}

function addExponents(x: Exponent, y: Exponent): Exponent {
  if (typeof x === 'number' && typeof y === 'number') return x + y;
  const sum = add(typeof x === 'number' ? constant(x) : x, typeof y === 'number' ? constant(y) : y);
  return constantValue(sum) ?? sum;
}

function add(a: Form, b: Form): Form {
  return fromTerms([...a.terms.values(), ...b.terms.values()].map((t) => ({ c: t.c, f: new Map(t.f) })));
}

function scale(a: Form, k: number): Form {
  return fromTerms([...a.terms.values()].map((t) => ({ c: t.c * k, f: new Map(t.f) })));
}

function mul(a: Form, b: Form): Form {
  const ka = constantValue(a);
  if (ka !== null) return scale(b, ka);
  const kb = constantValue(b);
  if (kb !== null) return scale(a, kb);
  // A sum is a factor of its own (no expansion); a single term brings its coefficient and factors.
  const asTerm = (x: Form): Term => single(x) ?? { c: 1, f: new Map([[`(${formKey(x)})`, 1]]) };
  const ta = asTerm(a);
  const tb = asTerm(b);
  const f = new Map(ta.f);
  for (const [base, e] of tb.f) {
    const prev = f.get(base);
    const sum = prev === undefined ? e : addExponents(prev, e);
    if (sum === 0) f.delete(base);
    else f.set(base, sum);
  }
  return fromTerms([{ c: ta.c * tb.c, f }]);
}

function pow(a: Form, b: Form): Form {
  const n = constantValue(b);
  const base = constantValue(a);
  if (n !== null && base !== null) {
    const v = Math.pow(base, n);
    if (Number.isNaN(v)) throw new Unsupported('complex power');
    return constant(v);
  }
  if (n === 0) return constant(1);
  const t = single(a);
  if (n !== null && t) {
    // (2x)^2 = 4x^2 and (x^2)^3 = x^6; a fractional power reaches only a positive coefficient
    // and a base to the first power (sqrt(x^2) stays as it is).
    const f = new Map<string, Exponent>();
    const rest = new Map<string, Exponent>();
    for (const [k, e] of t.f) {
      if (Number.isInteger(n) || e === 1) f.set(k, typeof e === 'number' ? e * n : scaleExponent(e, n));
      else rest.set(k, e);
    }
    let c = t.c;
    let restCoeff = 1;
    if (!Number.isInteger(n) && c < 0) { restCoeff = c; c = 1; }
    if (rest.size > 0 || restCoeff !== 1) f.set(`(${formKey(fromTerms([{ c: restCoeff, f: rest }]))})`, n);
    return fromTerms([{ c: Math.pow(c, n), f }]);
  }
  const e: Exponent = n ?? b;
  if (base !== null) return factor(fmt(base), e);
  return factor(t && t.c === 1 && t.f.size === 1 && [...t.f.values()][0] === 1 ? [...t.f.keys()][0]! : `(${formKey(a)})`, e);
}

function scaleExponent(e: Form, n: number): Exponent {
  const s = scale(e, n);
  return constantValue(s) ?? s;
}

/** An unevaluated function of its argument: a symbol of its own, unless the argument is a number. */
function applied(name: string, arg: Form, value: (x: number) => number): Form {
  const v = constantValue(arg);
  return v !== null ? constant(value(v)) : factor(`${name}(${formKey(arg)})`, 1);
}

const REAL_FUNCTIONS: Record<string, (x: number) => number> = {
  sin: Math.sin, cos: Math.cos, tan: Math.tan, cot: (x) => 1 / Math.tan(x), sec: (x) => 1 / Math.cos(x),
  csc: (x) => 1 / Math.sin(x), arcsin: Math.asin, arccos: Math.acos, arctan: Math.atan, sinh: Math.sinh,
  cosh: Math.cosh, tanh: Math.tanh, exp: Math.exp, abs: Math.abs,
};

function binary(op: '+' | '-' | '*' | '/' | '^', a: Form, b: Form): Form {
  switch (op) {
    case '+': return add(a, b);
    case '-': return add(a, scale(b, -1));
    case '*': return mul(a, b);
    case '/': return mul(a, pow(b, constant(-1)));
    case '^': return pow(a, b);
  }
}

/** sympy's form of an expression tree; throws where this model of sympy has nothing to say. */
export function sympyForm(node: Node): Form {
  switch (node.k) {
    case 'num': return constant(node.v);
    case 'var': return factor(node.name, 1);
    case 'const': return factor(node.name, 1);
    case 'neg': return scale(sympyForm(node.a), -1);
    case 'op': return binary(node.op, sympyForm(node.a), sympyForm(node.b));
    case 'fn': {
      const f = REAL_FUNCTIONS[node.name];
      if (!f) throw new Unsupported(`function ${node.name}`);
      return applied(node.name, sympyForm(node.a), f);
    }
    case 'root': return pow(sympyForm(node.a), pow(sympyForm(node.n), constant(-1)));
    case 'log': {
      const a = sympyForm(node.a);
      const base = node.base ? sympyForm(node.base) : null;
      const va = constantValue(a);
      const vb = base ? constantValue(base) : Math.E;
      if (va !== null && vb !== null) return constant(Math.log(va) / Math.log(vb));
      return factor(`log(${formKey(a)},${base ? formKey(base) : 'E'})`, 1);
    }
    case 'fact': return applied('factorial', sympyForm(node.a), (x) => {
      if (!Number.isInteger(x) || x < 0 || x > 170) throw new Unsupported('factorial');
      let p = 1;
      for (let k = 2; k <= x; k++) p *= k;
      return p;
    });
    case 'binom': throw new Unsupported('binomial');
  }
}

/** Same form: the same products, with coefficients equal to `relTol`. */
export function formsEqual(a: Form, b: Form, relTol: number): boolean {
  if (a.terms.size !== b.terms.size) return false;
  for (const [k, t] of a.terms) {
    const u = b.terms.get(k);
    if (!u || Math.abs(t.c - u.c) > relTol * Math.max(Math.abs(t.c), Math.abs(u.c))) return false;
  }
  return true;
}
