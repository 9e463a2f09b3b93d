// The shape of a normalised answer: a single expression, or a composite whose parts are compared
// one by one -- tuples and intervals (ordered, brackets must match), sets and solution lists
// (order-free), unions of intervals, matrices, equations.

import type { Deadline } from './deadline.ts';

export type Shape =
  | { k: 'scalar'; text: string }
  | { k: 'tuple'; open: string; close: string; items: Shape[] } // (1,2), [1,2), (3,4]
  | { k: 'set'; items: Shape[] } // \{1,2\}, 1,-2, 1\pm\sqrt{2}, A \cup B
  | { k: 'matrix'; rows: Shape[][] }
  | { k: 'equation'; lhs: string; rhs: string };

const OPEN = new Set(['(', '[', '{', '\\{']);
const CLOSE = new Set([')', ']', '}', '\\}']);

/** Split `s` at every depth-0 occurrence of `sep` (brackets of all kinds count as nesting). */
export function splitTopLevel(s: string, sep: string, deadline: Deadline): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  const sepIsCommand = /[a-zA-Z]$/.test(sep); // then \cup must not match the start of \cupdot
  for (let i = 0; i < s.length; i++) {
    deadline.check();
    if (depth === 0 && s.startsWith(sep, i) && !(sepIsCommand && /[a-zA-Z]/.test(s[i + sep.length] ?? ''))) {
      parts.push(s.slice(start, i));
      i += sep.length - 1;
      start = i + 1;
      continue;
    }
    const two = s.slice(i, i + 2);
    if (OPEN.has(two)) { depth++; i++; continue; }
    if (CLOSE.has(two)) { depth--; i++; continue; }
    if (s[i] === '\\') {
      // Skip a whole command name so its letters are never taken for a separator.
      const m = /^\\(?:[a-zA-Z]+|.)/.exec(s.slice(i));
      i += (m ? m[0].length : 1) - 1;
      continue;
    }
    if (OPEN.has(s[i]!)) depth++;
    else if (CLOSE.has(s[i]!)) depth--;
  }
  parts.push(s.slice(start));
  return parts;
}

/** Does the bracket opening at s[0] close exactly at the end of s? */
function enclosesWhole(s: string, openLength: number, closeLength: number, deadline: Deadline): boolean {
  const inner = s.slice(openLength, s.length - closeLength);
  // The inner text must not close the outer bracket early: its depth never goes negative.
  let depth = 0;
  for (let i = 0; i < inner.length; i++) {
    deadline.check();
    if (inner[i] === '\\') {
      const two = inner.slice(i, i + 2);
      if (two === '\\{') depth++;
      else if (two === '\\}') depth--;
      i++;
    } else if ('([{'.includes(inner[i]!)) depth++;
    else if (')]}'.includes(inner[i]!)) depth--;
    if (depth < 0) return false;
  }
  return depth === 0;
}

/** Work out the shape of a normalised answer. */
export function shapeOf(s: string, deadline: Deadline): Shape {
  const matrix = /^\\begin\{([pbBvV]?matrix)\}(.*)\\end\{\1\}$/.exec(s);
  if (matrix) {
    const rows = splitTopLevel(matrix[2]!, '\\\\', deadline).filter((r) => r !== '');
    return { k: 'matrix', rows: rows.map((r) => splitTopLevel(r, '&', deadline).map((c) => shapeOf(c, deadline))) };
  }
  const union = splitTopLevel(s, '\\cup', deadline);
  if (union.length > 1) return { k: 'set', items: union.map((p) => shapeOf(p, deadline)) };

  if (s.startsWith('\\{') && s.endsWith('\\}') && enclosesWhole(s, 2, 2, deadline)) {
    const inner = s.slice(2, -2);
    return { k: 'set', items: inner === '' ? [] : listItems(inner, deadline) };
  }
  if (/^[([]/.test(s) && /[)\]]$/.test(s) && enclosesWhole(s, 1, 1, deadline)) {
    const items = splitTopLevel(s.slice(1, -1), ',', deadline);
    if (items.length > 1) return { k: 'tuple', open: s[0]!, close: s[s.length - 1]!, items: items.map((p) => shapeOf(p, deadline)) };
  }
  const sides = splitTopLevel(s, '=', deadline);
  if (sides.length === 2) return { k: 'equation', lhs: sides[0]!, rhs: sides[1]! };
  if (splitTopLevel(s, ',', deadline).length > 1 || splitTopLevel(s, '\\pm', deadline).length === 2) {
    return { k: 'set', items: listItems(s, deadline) };
  }
  return { k: 'scalar', text: s };
}

/** Items of a comma list, with a \pm item standing for its two values. */
function listItems(s: string, deadline: Deadline): Shape[] {
  const items: Shape[] = [];
  for (const item of splitTopLevel(s, ',', deadline)) {
    const pm = splitTopLevel(item, '\\pm', deadline);
    if (pm.length === 2) {
      items.push({ k: 'scalar', text: `${pm[0]}+${pm[1]}` }, { k: 'scalar', text: `${pm[0]}-${pm[1]}` });
    } else {
      items.push(shapeOf(item, deadline));
    }
  }
  return items;
}
