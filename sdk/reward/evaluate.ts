// Numeric evaluation of an expression tree in complex arithmetic, so that answers such as 6-5i or
// \sqrt{-4} have values and random points never fall outside a square root's or logarithm's domain.
// Purely real operations take a real fast path, which also keeps +-infinity meaningful.

import type { Deadline } from './deadline.ts';
import type { Node } from './latex-expr.ts';

export interface Complex { re: number; im: number }

const real = (re: number): Complex => ({ re, im: 0 });
const NAN = real(NaN);
const isReal = (z: Complex): boolean => z.im === 0;

function add(a: Complex, b: Complex): Complex { return { re: a.re + b.re, im: a.im + b.im }; }
function sub(a: Complex, b: Complex): Complex { return { re: a.re - b.re, im: a.im - b.im }; }

function mul(a: Complex, b: Complex): Complex {
  if (isReal(a) && isReal(b)) return real(a.re * b.re);
  return { re: a.re * b.re - a.im * b.im, im: a.re * b.im + a.im * b.re };
}

function div(a: Complex, b: Complex): Complex {
  if (isReal(a) && isReal(b)) return real(a.re / b.re);
  const d = b.re * b.re + b.im * b.im;
  return { re: (a.re * b.re + a.im * b.im) / d, im: (a.im * b.re - a.re * b.im) / d };
}

function exp(z: Complex): Complex {
  if (isReal(z)) return real(Math.exp(z.re));
  const m = Math.exp(z.re);
  return { re: m * Math.cos(z.im), im: m * Math.sin(z.im) };
}

/** Principal logarithm. */
function log(z: Complex): Complex {
  if (isReal(z) && z.re >= 0) return real(Math.log(z.re));
  return { re: Math.log(Math.hypot(z.re, z.im)), im: Math.atan2(z.im, z.re) };
}

function pow(a: Complex, b: Complex): Complex {
  if (isReal(a) && isReal(b) && (a.re >= 0 || Number.isInteger(b.re))) return real(Math.pow(a.re, b.re));
  if (isReal(b) && Number.isInteger(b.re) && Math.abs(b.re) <= 1024) {
    // Exact-ish integer powers by repeated squaring, so that i^2 is exactly -1.
    let result = real(1);
    let base = a;
    for (let n = Math.abs(b.re); n > 0; n = Math.floor(n / 2)) {
      if (n % 2 === 1) result = mul(result, base);
      base = mul(base, base);
    }
    return b.re < 0 ? div(real(1), result) : result;
  }
  if (a.re === 0 && a.im === 0) return b.re > 0 ? real(0) : NAN;
  return exp(mul(b, log(a)));
}

/** n-th root: the real root for a real radicand and odd integer n (\sqrt[3]{-8} = -2), else principal. */
function root(a: Complex, n: Complex): Complex {
  if (isReal(a) && isReal(n) && Number.isInteger(n.re) && n.re % 2 !== 0 && a.re < 0) {
    return real(-Math.pow(-a.re, 1 / n.re));
  }
  if (isReal(n) && n.re === 2 && !isReal(a)) {
    const m = Math.hypot(a.re, a.im);
    return { re: Math.sqrt((m + a.re) / 2), im: Math.sign(a.im) * Math.sqrt((m - a.re) / 2) };
  }
  return pow(a, div(real(1), n));
}

function sin(z: Complex): Complex {
  if (isReal(z)) return real(Math.sin(z.re));
  return { re: Math.sin(z.re) * Math.cosh(z.im), im: Math.cos(z.re) * Math.sinh(z.im) };
}

function cos(z: Complex): Complex {
  if (isReal(z)) return real(Math.cos(z.re));
  return { re: Math.cos(z.re) * Math.cosh(z.im), im: -Math.sin(z.re) * Math.sinh(z.im) };
}

/** Functions of a real argument only (inverse trig); complex arguments give NaN. */
function realOnly(f: (x: number) => number): (z: Complex) => Complex {
  return (z) => (isReal(z) ? real(f(z.re)) : NAN);
}

const ONE = real(1);
const FUNCTIONS: Record<string, (z: Complex) => Complex> = {
  sin, cos,
  tan: (z) => div(sin(z), cos(z)),
  cot: (z) => div(cos(z), sin(z)),
  sec: (z) => div(ONE, cos(z)),
  csc: (z) => div(ONE, sin(z)),
  arcsin: realOnly(Math.asin),
  arccos: realOnly(Math.acos),
  arctan: realOnly(Math.atan),
  sinh: (z) => mul(real(0.5), sub(exp(z), exp(mul(real(-1), z)))),
  cosh: (z) => mul(real(0.5), add(exp(z), exp(mul(real(-1), z)))),
  tanh: (z) => div(sub(exp(z), exp(mul(real(-1), z))), add(exp(z), exp(mul(real(-1), z)))),
  exp,
  abs: (z) => real(Math.hypot(z.re, z.im)),
};

function factorial(z: Complex): Complex {
  if (!isReal(z) || !Number.isInteger(z.re) || z.re < 0 || z.re > 170) return NAN;
  let p = 1;
  for (let k = 2; k <= z.re; k++) p *= k;
  return real(p);
}

function binomial(n: Complex, r: Complex): Complex {
  if (!isReal(n) || !isReal(r) || !Number.isInteger(n.re) || !Number.isInteger(r.re) || r.re < 0 || n.re > 1e6) return NAN;
  if (r.re > n.re) return real(0);
  const k = Math.min(r.re, n.re - r.re);
  let c = 1;
  for (let j = 1; j <= k; j++) c = (c * (n.re - k + j)) / j;
  return real(Math.round(c));
}

/** a op b; a finite pair giving a non-finite result (1/0, 10^{400}) is undefined, not infinity. */
function binary(op: '+' | '-' | '*' | '/' | '^', a: Complex, b: Complex): Complex {
  const r = binaryRaw(op, a, b);
  const finite = (z: Complex): boolean => Number.isFinite(z.re) && Number.isFinite(z.im);
  return finite(a) && finite(b) && !finite(r) ? NAN : r;
}

function binaryRaw(op: '+' | '-' | '*' | '/' | '^', a: Complex, b: Complex): Complex {
  switch (op) {
    case '+': return add(a, b);
    case '-': return sub(a, b);
    case '*': return mul(a, b);
    case '/': return div(a, b);
    case '^': return pow(a, b);
  }
}

const CONSTANTS = { pi: real(Math.PI), e: real(Math.E), i: { re: 0, im: 1 }, inf: real(Infinity) };

/** Value of `node` with the variables in `env`; unknown variables are an error of the caller. */
export function evaluate(node: Node, env: ReadonlyMap<string, number>, deadline: Deadline): Complex {
  deadline.check();
  const ev = (n: Node): Complex => evaluate(n, env, deadline);
  switch (node.k) {
    case 'num': return real(node.v);
    case 'const': return CONSTANTS[node.name];
    case 'var': {
      const v = env.get(node.name);
      if (v === undefined) throw new Error(`no value for variable ${node.name}`);
      return real(v);
    }
    case 'neg': { const a = ev(node.a); return { re: -a.re, im: isReal(a) ? 0 : -a.im }; }
    case 'op': return binary(node.op, ev(node.a), ev(node.b));
    case 'fn': {
      const f = FUNCTIONS[node.name];
      if (!f) throw new Error(`unknown function ${node.name}`);
      return f(ev(node.a));
    }
    case 'root': return root(ev(node.a), ev(node.n));
    case 'log': {
      const a = log(ev(node.a));
      return node.base ? div(a, log(ev(node.base))) : a;
    }
    case 'fact': return factorial(ev(node.a));
    case 'binom': return binomial(ev(node.n), ev(node.r));
  }
}
