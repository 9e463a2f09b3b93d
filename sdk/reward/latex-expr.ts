// A small parser from LaTeX math to an expression tree.
//
// Why our own and not a CAS dependency: answers are short, the subset of LaTeX that final answers use
// is small (fractions, roots, powers, a few functions, implicit products), and we need something
// bounded in time that never runs code from the input (no eval / Function) and knows LaTeX argument
// rules (\frac12, \sqrt[3]{x}, x^23 = x^2 * 3). A general CAS would be large and still need a LaTeX
// front end. Anything outside the subset is a ParseError, and the caller falls back to strings.

import type { Deadline } from './deadline.ts';

export type Node =
  | { k: 'num'; v: number; integer: boolean }
  | { k: 'var'; name: string }
  | { k: 'const'; name: 'pi' | 'e' | 'i' | 'inf' }
  | { k: 'neg'; a: Node }
  | { k: 'op'; op: '+' | '-' | '*' | '/' | '^'; a: Node; b: Node }
  | { k: 'fn'; name: string; a: Node }
  | { k: 'root'; a: Node; n: Node }
  | { k: 'log'; a: Node; base: Node | null }
  | { k: 'fact'; a: Node }
  | { k: 'binom'; n: Node; r: Node };

export class ParseError extends Error {}

type Tok = { k: 'num' | 'id' | 'cmd' | 'sym'; text: string };

const FUNCTIONS = new Set([
  'sin', 'cos', 'tan', 'cot', 'sec', 'csc', 'arcsin', 'arccos', 'arctan', 'sinh', 'cosh', 'tanh', 'exp',
]);
const INVERSE: Record<string, string> = { sin: 'arcsin', cos: 'arccos', tan: 'arctan' };
const GREEK = new Set([
  'alpha', 'beta', 'gamma', 'delta', 'epsilon', 'varepsilon', 'zeta', 'eta', 'theta', 'vartheta', 'iota',
  'kappa', 'lambda', 'mu', 'nu', 'xi', 'rho', 'sigma', 'tau', 'upsilon', 'phi', 'varphi', 'chi', 'psi', 'omega',
  'Gamma', 'Delta', 'Theta', 'Lambda', 'Xi', 'Sigma', 'Phi', 'Psi', 'Omega',
]);
const TIMES = new Set(['cdot', 'times', 'ast']);
const MAX_DEPTH = 200;

function tokenize(s: string): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  while (i < s.length) {
    const ch = s[i]!;
    const prev = toks[toks.length - 1];
    if (/\s/.test(ch)) { i++; continue; }
    if (/[0-9.]/.test(ch)) {
      // After ^ or _ a bare digit string is one digit: x^23 means x^2 * 3.
      const script = prev?.k === 'sym' && (prev.text === '^' || prev.text === '_');
      const m = script ? /^\d/.exec(s.slice(i)) : /^(?:\d+\.?\d*|\.\d+)/.exec(s.slice(i));
      if (!m) throw new ParseError(`stray "." at ${i}`);
      toks.push({ k: 'num', text: m[0] });
      i += m[0].length;
    } else if (/[a-zA-Z]/.test(ch)) {
      toks.push({ k: 'id', text: ch });
      i++;
    } else if (ch === '\\') {
      const m = /^\\([a-zA-Z]+)/.exec(s.slice(i));
      if (m) { toks.push({ k: 'cmd', text: m[1]! }); i += m[0].length; continue; }
      const next = s[i + 1] ?? '';
      if (',;:! '.includes(next)) { i += 2; continue; }
      toks.push({ k: 'sym', text: '\\' + next });
      i += 2;
    } else {
      toks.push({ k: 'sym', text: ch });
      i++;
    }
  }
  return toks;
}

export interface ParseOptions {
  /** Read `2\frac{1}{2}` as the mixed number 5/2 (default) or, as sympy does, as the product 2 * 1/2. */
  mixedNumbers?: boolean;
}

/** Parse one LaTeX expression; throws ParseError on anything outside the supported subset. */
export function parseLatex(s: string, deadline: Deadline, opts: ParseOptions = {}): Node {
  return new Parser(tokenize(s), deadline, opts.mixedNumbers ?? true).parseAll();
}

class Parser {
  private pos = 0;
  private depth = 0;
  private absDepth = 0;

  constructor(private readonly toks: Tok[], private readonly deadline: Deadline, private readonly mixedNumbers: boolean) {}

  parseAll(): Node {
    if (this.toks.length === 0) throw new ParseError('empty expression');
    const e = this.expr();
    if (this.pos < this.toks.length) throw new ParseError(`unexpected "${this.toks[this.pos]!.text}"`);
    return e;
  }

  private peek(offset = 0): Tok | undefined { return this.toks[this.pos + offset]; }
  private isSym(text: string, offset = 0): boolean {
    const t = this.peek(offset);
    return t !== undefined && t.k === 'sym' && t.text === text;
  }
  private isCmd(names: Set<string> | string): boolean {
    const t = this.peek();
    return t !== undefined && t.k === 'cmd' && (typeof names === 'string' ? t.text === names : names.has(t.text));
  }
  private expect(text: string): void {
    if (!this.isSym(text)) throw new ParseError(`expected "${text}"`);
    this.pos++;
  }

  private enter(): void {
    this.deadline.check();
    if (++this.depth > MAX_DEPTH) throw new ParseError('expression nested too deeply');
  }

  // expr := term (('+' | '-') term)*
  private expr(): Node {
    this.enter();
    let left = this.term();
    while (this.isSym('+') || this.isSym('-')) {
      this.deadline.check();
      const op = this.toks[this.pos++]!.text as '+' | '-';
      left = { k: 'op', op, a: left, b: this.term() };
    }
    this.depth--;
    return left;
  }

  // term := unary (('*' | '/' | implicit) unary)*
  private term(): Node {
    let left = this.unary();
    for (;;) {
      this.deadline.check();
      if (this.isSym('*') || this.isCmd(TIMES)) { this.pos++; left = { k: 'op', op: '*', a: left, b: this.unary() }; }
      else if (this.isSym('/') || this.isCmd('div')) { this.pos++; left = { k: 'op', op: '/', a: left, b: this.unary() }; }
      else if (this.startsFactor()) left = { k: 'op', op: '*', a: left, b: this.power() };
      else return left;
    }
  }

  /** Can the next token begin an implicitly multiplied factor (2x, 2\sqrt{3}, 3(x+1))? */
  private startsFactor(): boolean {
    const t = this.peek();
    if (!t) return false;
    if (t.k === 'num' || t.k === 'id') return true;
    if (t.k === 'cmd') return !TIMES.has(t.text) && t.text !== 'div';
    if (t.text === '|') return this.absDepth === 0;
    return t.text === '(' || t.text === '{';
  }

  // unary := ('-' | '+') unary | power
  private unary(): Node {
    if (this.isSym('-')) { this.pos++; this.enter(); const a = this.unary(); this.depth--; return { k: 'neg', a }; }
    if (this.isSym('+')) { this.pos++; return this.unary(); }
    return this.power();
  }

  // power := postfix ('^' script)?   (right-associative through the script's own power)
  private power(): Node {
    const base = this.postfix();
    if (!this.isSym('^')) return base;
    this.pos++;
    return { k: 'op', op: '^', a: base, b: this.script() };
  }

  private postfix(): Node {
    let a = this.primary();
    while (this.isSym('!')) { this.pos++; a = { k: 'fact', a }; }
    return a;
  }

  /** Argument of ^ or _: a brace group or a single atom, optionally negated (x^-1). */
  private script(): Node {
    if (this.isSym('{')) return this.group('{', '}');
    if (this.isSym('-')) { this.pos++; return { k: 'neg', a: this.script() }; }
    const t = this.peek();
    if (!t) throw new ParseError('missing exponent');
    if (t.k === 'num' || t.k === 'id') return this.primary();
    if (t.k === 'cmd' && (GREEK.has(t.text) || ['pi', 'infty'].includes(t.text))) return this.primary();
    throw new ParseError(`unsupported exponent "${t.text}"`);
  }

  private group(open: string, close: string): Node {
    this.expect(open);
    this.enter();
    const saved = this.absDepth;
    this.absDepth = 0;
    const e = this.expr();
    this.absDepth = saved;
    this.depth--;
    this.expect(close);
    return e;
  }

  private primary(): Node {
    const t = this.peek();
    if (!t) throw new ParseError('unexpected end of expression');
    if (t.k === 'num') {
      this.pos++;
      const n: Node = { k: 'num', v: Number(t.text), integer: /^\d+$/.test(t.text) };
      if (Number.isNaN(n.v)) throw new ParseError(`bad number "${t.text}"`);
      if (this.isSym('_')) throw new ParseError('number with a subscript (a base?)');
      return n.integer && this.mixedNumbers ? this.mixedNumber(n) : n;
    }
    if (t.k === 'id') {
      this.pos++;
      if (t.text === 'e') return { k: 'const', name: 'e' };
      if (t.text === 'i') return { k: 'const', name: 'i' };
      return this.subscripted(t.text);
    }
    if (t.k === 'cmd') return this.command(t.text);
    if (t.text === '(') return this.group('(', ')');
    if (t.text === '{') return this.group('{', '}');
    if (t.text === '|') {
      this.pos++;
      this.enter();
      this.absDepth++;
      const a = this.expr();
      this.absDepth--;
      this.depth--;
      this.expect('|');
      return { k: 'fn', name: 'abs', a };
    }
    throw new ParseError(`unexpected "${t.text}"`);
  }

  /** Mixed number: an integer followed by a proper fraction of integer literals, 1\frac{4}{5} = 9/5. */
  private mixedNumber(whole: Node & { k: 'num' }): Node {
    // Token lookahead only (no trial parse), so nested fractions never cost more than one pass.
    const t = (o: number): string => this.peek(o)?.text ?? '';
    const isInt = (o: number): boolean => this.peek(o)?.k === 'num' && /^\d+$/.test(t(o));
    if (!this.isCmd('frac') || t(1) !== '{' || !isInt(2) || t(3) !== '}' || t(4) !== '{' || !isInt(5) || t(6) !== '}') {
      return whole;
    }
    const num = Number(t(2));
    const den = Number(t(5));
    if (num >= den) return whole;
    this.pos += 7;
    const frac: Node = { k: 'op', op: '/', a: { k: 'num', v: num, integer: true }, b: { k: 'num', v: den, integer: true } };
    return { k: 'op', op: '+', a: whole, b: frac };
  }

  /** A variable with an optional subscript, x_1 or a_{10}, named as written. */
  private subscripted(name: string): Node {
    if (!this.isSym('_')) return { k: 'var', name };
    this.pos++;
    let sub = '';
    if (this.isSym('{')) {
      this.pos++;
      while (this.peek() && !this.isSym('}')) sub += this.toks[this.pos++]!.text;
      this.expect('}');
    } else {
      const t = this.peek();
      if (!t || t.k === 'sym') throw new ParseError('missing subscript');
      sub = t.text;
      this.pos++;
    }
    return { k: 'var', name: `${name}_${sub}` };
  }

  private command(name: string): Node {
    this.pos++;
    if (name === 'frac' || name === 'binom') {
      const a = this.group('{', '}');
      const b = this.group('{', '}');
      return name === 'frac' ? { k: 'op', op: '/', a, b } : { k: 'binom', n: a, r: b };
    }
    if (name === 'sqrt') {
      let n: Node = { k: 'num', v: 2, integer: true };
      if (this.isSym('[')) n = this.group('[', ']');
      return { k: 'root', a: this.group('{', '}'), n };
    }
    if (name === 'pi') return { k: 'const', name: 'pi' };
    if (name === 'infty' || name === 'infin') return { k: 'const', name: 'inf' };
    if (GREEK.has(name)) return this.subscripted('\\' + name);
    if (name === 'ln' || name === 'log') {
      let base: Node | null = null;
      if (name === 'log' && this.isSym('_')) { this.pos++; base = this.script(); }
      return { k: 'log', a: this.functionArgument(), base };
    }
    if (FUNCTIONS.has(name)) {
      // \sin^2 x = (\sin x)^2, \sin^{-1} x = \arcsin x
      let exponent: Node | null = null;
      if (this.isSym('^')) { this.pos++; exponent = this.script(); }
      const inverse = exponent?.k === 'neg' && exponent.a.k === 'num' && exponent.a.v === 1 && INVERSE[name];
      if (inverse) return { k: 'fn', name: inverse, a: this.functionArgument() };
      const f: Node = { k: 'fn', name, a: this.functionArgument() };
      return exponent ? { k: 'op', op: '^', a: f, b: exponent } : f;
    }
    throw new ParseError(`unsupported command \\${name}`);
  }

  /** \sin(x+1), \sin{x}, or without brackets a run of simple factors: \sin 2x, \cot x. */
  private functionArgument(): Node {
    if (this.isSym('(')) return this.group('(', ')');
    if (this.isSym('{')) return this.group('{', '}');
    this.enter();
    let a = this.power();
    for (;;) {
      const t = this.peek();
      const simple = t && (t.k === 'num' || t.k === 'id' || (t.k === 'cmd' && (GREEK.has(t.text) || t.text === 'pi')));
      if (!simple) break;
      a = { k: 'op', op: '*', a, b: this.power() };
    }
    this.depth--;
    return a;
  }
}

/** Names of the free variables in a tree. */
export function variablesOf(n: Node, into = new Set<string>()): Set<string> {
  switch (n.k) {
    case 'var': into.add(n.name); break;
    case 'neg': case 'fn': case 'fact': variablesOf(n.a, into); break;
    case 'op': variablesOf(n.a, into); variablesOf(n.b, into); break;
    case 'root': variablesOf(n.a, into); variablesOf(n.n, into); break;
    case 'log': variablesOf(n.a, into); if (n.base) variablesOf(n.base, into); break;
    case 'binom': variablesOf(n.n, into); variablesOf(n.r, into); break;
    default: break;
  }
  return into;
}
