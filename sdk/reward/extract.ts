// Finding the final answer in a response. The ORZ format puts it in a \boxed{} inside
// <answer>...</answer> (the rollout engine keeps the stop text `</answer>`). Two readings:
//   extractAnswerOrz  what ORZ's trainer extracts, quirks included (for the default mathReward);
//   extractAnswer     the last box of the last <answer> block that has one, `\boxed {x}` included.

import { orzUnbox } from './orz-strings.ts';

const BOX_COMMANDS = ['\\boxed', '\\fbox'];

/** Content of the last \boxed{...} (or \fbox{...}) in `text`; null if there is none or its braces never close. */
export function lastBoxed(text: string): string | null {
  let at = -1;
  let command = '';
  for (const c of BOX_COMMANDS) {
    // Skip longer commands that merely start with the name (e.g. a hypothetical \boxedx).
    let i = text.lastIndexOf(c);
    while (i >= 0 && /[a-zA-Z]/.test(text[i + c.length] ?? '')) i = i > 0 ? text.lastIndexOf(c, i - 1) : -1;
    if (i > at) { at = i; command = c; }
  }
  if (at < 0) return null;
  let i = at + command.length;
  while (i < text.length && /\s/.test(text[i]!)) i++;
  if (text[i] === '{') {
    const end = groupEnd(text, i);
    return end < 0 ? null : text.slice(i + 1, end);
  }
  // `\boxed 5` form: the argument is the next run of non-space characters.
  const m = /^[^\s$]+/.exec(text.slice(i));
  return m ? m[0] : null;
}

/** Index of the `}` closing the brace group that opens at text[open]; -1 if it never closes.
 *  Escaped \{ and \} are characters, not grouping. */
export function groupEnd(text: string, open: number): number {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    const ch = text[i];
    if (ch === '\\') { i++; continue; }
    if (ch === '{') depth++;
    else if (ch === '}' && --depth === 0) return i;
  }
  return -1;
}

/**
 * Last \boxed{} inside the last complete <answer>...</answer> block that has a box (ORZ, too, looks
 * past a trailing block without one); null if there is none.
 */
export function extractAnswer(response: string): string | null {
  for (let close = response.lastIndexOf('</answer>'); close >= 0; close = close > 0 ? response.lastIndexOf('</answer>', close - 1) : -1) {
    const open = response.lastIndexOf('<answer>', close);
    if (open < 0) return null;
    const boxed = lastBoxed(response.slice(open + '<answer>'.length, close));
    if (boxed !== null) return boxed;
  }
  return null;
}

/**
 * The answer ORZ's trainer reads, '' when it finds none. ORZ matches `<answer>.*?(\boxed{.*}).*?</answer>`
 * over the whole response: the span runs from the first `\boxed{` after the first `<answer>` to the
 * last `}` before the last `</answer>`, so `\boxed {x}` (a space) is not found and several blocks
 * merge into one span. ORZ then answers with the inside of the span's last `\boxed{...}`, or with
 * the whole span when that box is not of this form (e.g. the last is a `\boxed {x}`).
 */
export function extractAnswerOrz(response: string): string {
  const open = response.indexOf('<answer>');
  if (open < 0) return '';
  const box = response.indexOf('\\boxed{', open + '<answer>'.length);
  const close = response.lastIndexOf('</answer>');
  if (box < 0 || close < 0) return '';
  const end = response.lastIndexOf('}', close - 1);
  if (end < box + '\\boxed{'.length) return '';
  return orzUnbox(response.slice(box, end + 1));
}
