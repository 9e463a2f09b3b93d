// The two string normalisations ORZ's checker applies before comparing answers, rewritten here
// from their observed behaviour (ORZ: orz/ppo/tools/math_utils.py). ORZ's reward says 1 when the
// first form of both answers is equal (as text or as Python floats), or when sympy finds the raw or
// the second form equal; these functions give the default reward the same string verdicts.
//
// Kept on purpose: the order of the steps and their blindness to context (a unit word is removed
// wherever it appears, as in ORZ). Changed on purpose: ORZ deletes every comma, which makes `12`
// equal `1,2` and `(1,2)` equal `(12)`; here only a comma between digit groups of three goes.

/** Commas that separate thousands (`58,500`, `10,\!080`); any other comma is part of a list. */
function dropThousandsCommas(t: string): string {
  return t.replace(/(\d),(?=\d{3}(?!\d))/g, '$1');
}

function replaceAll(t: string, pairs: ReadonlyArray<readonly [string, string]>): string {
  for (const [from, to] of pairs) t = t.split(from).join(to);
  return t;
}

/** `\sqrt3` -> `\sqrt{3}`: a single-character argument gets braces; null where ORZ's step raises. */
function braceSqrt(t: string): string | null {
  const parts = t.split('\\sqrt');
  let out = parts[0]!;
  for (const part of parts.slice(1)) {
    if (part === '') return null; // `\sqrt` at the very end: ORZ indexes past the string
    out += part[0] === '{' ? '\\sqrt' + part : `\\sqrt{${part[0]}}${part.slice(1)}`;
  }
  return out;
}

/**
 * `\frac12` -> `\frac{1}{2}`, `\frac1{72}` -> `\frac{1}{72}`; a `\frac` too short to fix leaves the
 * whole string as it was, and one at the very end is null (ORZ's step raises there).
 */
function braceFrac(t: string): string | null {
  const parts = t.split('\\frac');
  let out = parts[0]!;
  for (const part of parts.slice(1)) {
    out += '\\frac';
    if (part === '') return null;
    if (part[0] === '{') { out += part; continue; }
    if (part.length < 2) return t;
    const [a, b] = [part[0]!, part[1]!];
    out += b === '{' ? `{${a}}${b}${part.slice(2)}` : `{${a}}{${b}}${part.slice(2)}`;
  }
  return out;
}

/** `3/4` -> `\frac{3}{4}` when both sides are plain integers written as Python would print them. */
function slashToFrac(t: string): string {
  const sides = t.split('/');
  if (sides.length !== 2 || !sides.every((x) => /^-?(?:0|[1-9]\d*)$/.test(x))) return t;
  return `\\frac{${sides[0]}}{${sides[1]}}`;
}

/**
 * ORZ's first normalisation (the Hendrycks MATH one): null where ORZ's version raises, in which
 * case ORZ compares the raw strings.
 */
export function orzStrip(s: string): string | null {
  let t = s.replace(/\n/g, '');
  t = t.replace(/,\\!\s*/g, ',').replace(/\\!/g, '');
  t = t.split('\\\\').join('\\');
  t = replaceAll(t, [['tfrac', 'frac'], ['dfrac', 'frac'], ['\\left', ''], ['\\right', ''], ['^{\\circ}', ''], ['^\\circ', ''], ['\\$', ''], ['$', '']]);
  t = dropThousandsCommas(t);
  // A `\text{ ` (with its space) is taken to start a unit: what precedes it is the answer.
  const unit = t.split('\\text{ ');
  if (unit.length > 2) return null; // ORZ asserts there is at most one
  t = unit[0]!;
  t = t.split('\\%').join('');
  t = t.split(' .').join(' 0.').split('{.').join('{0.');
  if (t === '') return t;
  if (t[0] === '.') t = '0' + t;
  // `k = 5` -> `5`: a left side of at most two characters is a name.
  const sides = t.split('=');
  if (sides.length === 2 && sides[0]!.length <= 2) t = sides[1]!;
  const braced = braceSqrt(t);
  if (braced === null) return null;
  const fracs = braceFrac(braced.split(' ').join(''));
  if (fracs === null) return null;
  t = fracs;
  if (t === '0.5') t = '\\frac{1}{2}';
  return slashToFrac(t);
}

/** Python's float() accepts these spellings; ORZ compares two stripped answers as floats when both parse. */
export function pythonFloat(t: string): number | null {
  const s = t.trim();
  if (/^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/.test(s)) return Number(s);
  const special = /^([+-]?)(inf|infinity|nan)$/i.exec(s);
  if (!special) return null;
  if (special[2]!.toLowerCase() === 'nan') return NaN;
  return special[1] === '-' ? -Infinity : Infinity;
}

// ORZ's second normalisation (the Minerva one), as data: replacements in order, then words and
// marks that are deleted wherever they occur (unit words such as `ways`, so that `7 ways` is `7`).
const MINERVA_REPLACEMENTS: ReadonlyArray<readonly [string, string]> = [
  ['an ', ''], ['a ', ''], ['.$', '$'], ['\\$', ''], ['\\ ', ''], [' ', ''], ['mbox', 'text'],
  [',\\text{and}', ','], ['\\text{and}', ','], ['\\text{m}', '\\text{}'],
];

export const ORZ_REMOVED_WORDS: readonly string[] = [
  'square', 'ways', 'integers', 'dollars', 'mph', 'inches', 'ft', 'hours', 'km', 'units', '\\ldots', 'sue',
  'points', 'feet', 'minutes', 'digits', 'cents', 'degrees', 'cm', 'gm', 'pounds', 'meters', 'meals', 'edges',
  'students', 'childrentickets', 'multiples', '\\text{s}', '\\text{.}', '\\text{\ns}', '\\text{}^2', '\\text{}^3',
  '\\text{\n}', '\\text{}', '\\mathrm{th}', '^\\circ', '^{\\circ}', '\\;', ',\\!', '{,}', '"', '\\dots',
];

/** ORZ's second normalisation: units and TeX wrappers removed; compared as text or handed to sympy. */
export function orzMinervaNormalize(s: string): string {
  let t = replaceAll(s, MINERVA_REPLACEMENTS);
  for (const word of ORZ_REMOVED_WORDS) t = t.split(word).join('');
  // Only the first $...$ survives (the pattern has no DOTALL: a newline stops it).
  const dollars = /^([^\n]*?)\$([^\n]*?)\$/.exec(t);
  if (dollars) t = '$' + dollars[2] + '$' + t.slice(dollars[0].length).replace(/^[^\n]*/, '');
  t = t.replace(/\\text\{([^\n]*?)\}/g, '$1').replace(/\\textbf\{([^\n]*?)\}/g, '$1').replace(/\\overline\{([^\n]*?)\}/g, '$1');
  t = t.replace(/\\boxed\{([^\n]*)\}/g, '$1');
  t = t.replace(/frac([^{])([^\n])/g, 'frac{$1}{$2}').replace(/sqrt([^{])/g, 'sqrt{$1}');
  t = t.split('$').join('');
  if (/^\d+$/.test(dropThousandsCommas(t))) t = dropThousandsCommas(t);
  return t;
}

/** ORZ's answer string for a text: the inside of its last `\boxed{...}`, else the text itself. */
export function orzUnbox(s: string): string {
  let at = s.lastIndexOf('\\boxed');
  if (at < 0) at = s.lastIndexOf('\\fbox');
  if (at < 0) return s;
  // Every brace counts, escaped or not, and the box ends where the count first returns to zero.
  let depth = 0;
  for (let i = at; i < s.length; i++) {
    if (s[i] === '{') depth++;
    else if (s[i] === '}' && --depth === 0) {
      const box = s.slice(at, i + 1);
      return box.startsWith('\\boxed{') ? box.slice('\\boxed{'.length, -1) : s;
    }
  }
  return s;
}
