// Hendrycks-MATH-style string normalisation: remove the LaTeX that does not change an answer's
// value (spacing, \left/\right, units, degree signs, dollar and percent signs, `x =` prefixes) and
// put fractions and roots in one canonical spelling, so that equal answers usually become equal strings.

import { groupEnd } from './extract.ts';

// Words that, after a number, name what was counted or measured: `7 ways` is `7`. The list holds
// ORZ's unit words (its checker deletes them wherever they occur; here only after a number, so that
// no word inside an answer is cut) and a few common units.
const UNIT_WORDS = [
  'cm', 'mm', 'km', 'meters?', 'inch(?:es)?', 'feet', 'foot', 'ft', 'units?', 'degrees?', 'dollars?', 'cents?',
  'seconds?', 'minutes?', 'hours?', 'days?', 'ways', 'integers?', 'mph', 'points?', 'digits?', 'gm', 'pounds?',
  'meals?', 'edges?', 'students?', 'multiples?',
];
const TRAILING_UNIT = new RegExp(String.raw`^(.*\d)\s+(?:square\s+)?(?:${UNIT_WORDS.join('|')})(?:\^\{?\d\}?)?$`);

/** Normalise an answer string so that cosmetic differences vanish. */
export function normalizeAnswer(s: string): string {
  return normalize(s, false);
}

/** normalizeAnswer, optionally keeping a leading `y =` so that equations can be compared as equations. */
export function normalize(s: string, keepLeadingVariable: boolean): string {
  let t = s.replace(/\s+/g, ' ').trim();
  t = unwrapWhole(t);
  t = replaceUnicode(t);
  t = t.replace(/\\[dt]frac(?![a-zA-Z])/g, '\\frac');
  t = t.replace(/\\(?:displaystyle|textstyle|scriptstyle|big|Big|bigl|bigr|Bigl|Bigr)(?![a-zA-Z])/g, '');
  t = t.replace(/\\(?:left|right)(?![a-zA-Z])\.?/g, '');
  // `,\!` and `{,}` are how LaTeX writes a thousands separator.
  t = t.replace(/,\s*\\!\s*/g, ',').replace(/\{,\}/g, ',');
  // Spacing commands; a `\\` row break is consumed first so that `\\,` keeps its break.
  t = t.replace(/\\\\|\\[,;:! ]|\\q?quad(?![a-zA-Z])|~/g, (m) => (m === '\\\\' ? m : m === '\\!' ? '' : ' '));
  t = t.replace(/\^\s*\{\s*\\circ\s*\}|\^\s*\\circ(?![a-zA-Z])|\\circ(?![a-zA-Z])|\\degree(?![a-zA-Z])|°/g, '');
  t = t.replace(/\\?%/g, '').replace(/\\\$/g, '').replace(/\$/g, '');
  t = stripText(t.trim()).trim();
  t = t.replace(/\\(?:mathrm|mathbf|mathit|textbf|textit|textrm|operatorname)\s*\{([^{}]*)\}/g, '$1');
  t = t.replace(TRAILING_UNIT, '$1');
  t = t.replace(/\s*\.$/, '');
  if (!keepLeadingVariable) t = stripLeadingVariable(t);
  const spacedThousands = /\d,\s\d/.test(t);
  t = removeSpaces(t);
  t = canonicalArgs(t);
  t = t.replace(/_([0-9a-zA-Z])/g, '_{$1}'); // 52_8 -> 52_{8}
  t = t.replace(/(^|[^\d}])\.(\d)/g, '$10.$2');
  t = canonicalNumber(t, spacedThousands);
  t = t.replace(/^\(([A-E])\)$/, '$1'); // multiple-choice letter: (C) -> C
  return t;
}

/** Strip wrappers that enclose the whole answer: \boxed{...}, $...$, \(...\), \[...\]. */
function unwrapWhole(t: string): string {
  for (;;) {
    const before = t;
    const box = /^\\(?:boxed|fbox)\s*\{/.exec(t);
    if (box && groupEnd(t, box[0].length - 1) === t.length - 1) t = t.slice(box[0].length, -1).trim();
    if (/^\$[^$]*\$$|^\$\$[^$]*\$\$$/.test(t)) t = t.replace(/^\$+|\$+$/g, '').trim();
    if (/^\\\(.*\\\)$|^\\\[.*\\\]$/.test(t)) t = t.slice(2, -2).trim();
    if (t === before) return t;
  }
}

function replaceUnicode(t: string): string {
  return t.replace(/[−–]/g, '-').replace(/×/g, '\\times ').replace(/[·⋅]/g, '\\cdot ')
    .replace(/π/g, '\\pi ').replace(/∞/g, '\\infty ').replace(/≤/g, '\\le ').replace(/≥/g, '\\ge ');
}

const TEXT_RE = /\\(?:text|mbox|textnormal)\s*\{/g;

/** \text{...}: a whole-answer text keeps its words; a trailing one after a value is a unit and goes. */
function stripText(t: string): string {
  const whole = /^\\(?:text|mbox|textnormal|textbf)\s*\{/.exec(t);
  if (whole && groupEnd(t, whole[0].length - 1) === t.length - 1) return t.slice(whole[0].length, -1).trim();
  const groups: Array<{ start: number; open: number; end: number }> = [];
  for (const m of t.matchAll(TEXT_RE)) {
    const open = m.index + m[0].length - 1;
    const end = groupEnd(t, open);
    if (end < 0) return t;
    groups.push({ start: m.index, open, end });
  }
  const last = groups[groups.length - 1];
  if (last && last.start > 0 && /^(?:\^\{?\d\}?)?\s*$/.test(t.slice(last.end + 1))) {
    groups.pop();
    t = t.slice(0, last.start);
  }
  for (const g of groups.reverse()) t = t.slice(0, g.start) + t.slice(g.open + 1, g.end) + t.slice(g.end + 1);
  return t;
}

/** `x = 5` -> `5`, `x \in [1,2]` -> `[1,2]`: a single variable named on the left. */
function stripLeadingVariable(t: string): string {
  const v = String.raw`(?:[a-zA-Z]|\\[a-zA-Z]+)(?:_\{?[a-zA-Z0-9]+\}?)?`;
  const eq = new RegExp(String.raw`^${v}\s*=\s*`).exec(t);
  if (eq && !/[=<>]|\\[lg]eq?(?![a-zA-Z])/.test(t.slice(eq[0].length))) return t.slice(eq[0].length);
  const member = new RegExp(String.raw`^${v}\s*\\in(?![a-zA-Z])\s*`).exec(t);
  if (member) return t.slice(member[0].length);
  return t;
}

/** Remove whitespace, except one space ending a command name before a letter (`\cot x`, `\pi r`). */
function removeSpaces(t: string): string {
  return t.replace(/(\\[a-zA-Z]+)\s+(?=[a-zA-Z])/g, '$1\u0001').replace(/\s+/g, '').replace(/\u0001/g, ' ');
}

/** Give \frac, \sqrt and \binom braced arguments: \frac12 -> \frac{1}{2}, \sqrt3 -> \sqrt{3}. */
function canonicalArgs(t: string): string {
  let out = '';
  let i = 0;
  while (i < t.length) {
    const m = /^\\(frac|binom|sqrt)(?![a-zA-Z])/.exec(t.slice(i));
    if (!m) {
      if (t[i] === '\\') { out += t.slice(i, i + 2); i += 2; } else { out += t[i]; i++; }
      continue;
    }
    out += '\\' + m[1];
    i += m[0].length;
    if (m[1] === 'sqrt' && t[i] === '[') {
      const close = t.indexOf(']', i);
      if (close < 0) return out + t.slice(i);
      out += t.slice(i, close + 1);
      i = close + 1;
    }
    for (let k = m[1] === 'sqrt' ? 1 : 2; k > 0; k--) {
      if (t[i] === ' ') i++;
      const arg = readArg(t, i);
      if (!arg) return out + t.slice(i);
      out += '{' + canonicalArgs(arg.text) + '}';
      i = arg.next;
    }
  }
  return out;
}

/** One TeX argument at t[i]: a brace group, a command name, or a single character. */
function readArg(t: string, i: number): { text: string; next: number } | null {
  if (i >= t.length) return null;
  if (t[i] === '{') {
    const end = groupEnd(t, i);
    return end < 0 ? null : { text: t.slice(i + 1, end), next: end + 1 };
  }
  const cmd = /^\\[a-zA-Z]+/.exec(t.slice(i));
  if (cmd) return { text: cmd[0], next: i + cmd[0].length };
  if (t[i] === '}' || t[i] === '\\') return null;
  return { text: t[i]!, next: i + 1 };
}

/** Plain numbers in one spelling: 1,000 -> 1000, 2.50 -> 2.5, 5.0 -> 5, 3/4 -> \frac{3}{4}. */
function canonicalNumber(t: string, spacedThousands: boolean): string {
  if (!spacedThousands && /^[-+]?\d{1,3}(?:,\d{3})+(?:\.\d+)?$/.test(t)) t = t.replace(/,/g, '');
  if (/^[-+]?\d*\.\d+$/.test(t)) t = t.replace(/0+$/, '').replace(/\.$/, '');
  const slash = /^(-?)(\d+)\/(\d+)$/.exec(t);
  if (slash) t = `${slash[1]}\\frac{${slash[2]}}{${slash[3]}}`;
  return t;
}
