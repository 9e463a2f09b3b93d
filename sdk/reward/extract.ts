// Finding the final answer in a response: the ORZ format puts it in the last \boxed{} of the last
// <answer>...</answer> block (the rollout engine keeps the stop text `</answer>`).

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
  if (text[i] === '{') {
    const end = groupEnd(text, i);
    return end < 0 ? null : text.slice(i + 1, end);
  }
  // `\boxed 5` form: the argument is the next run of non-space characters.
  while (i < text.length && /\s/.test(text[i]!)) i++;
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

/** Last \boxed{} inside the last complete <answer>...</answer> block; null if there is none. */
export function extractAnswer(response: string): string | null {
  const close = response.lastIndexOf('</answer>');
  if (close < 0) return null;
  const open = response.lastIndexOf('<answer>', close);
  if (open < 0) return null;
  return lastBoxed(response.slice(open + '<answer>'.length, close));
}
