// The multiple-choice reward (GPQA-Diamond): the final answer is read the way the math reward reads it (the last
// \boxed{} inside <answer>), and it is right when it names the correct choice, by its letter ("B", "(B)", "B.",
// "\text{B}") or by the choice's exact text. Anything else, and any response cut off by the length limit, is 0.
//
// A sample carries its choices in a `choices` field: an object {A: text, B: text, ...} or that object as JSON
// (rollout batches keep only string and number fields). The ground truth is the correct letter.

import { extractAnswer, groupEnd } from './extract.ts';
import type { Sample } from './types.ts';

export type Choices = Record<string, string>;

/** Commands whose argument is plain text around a letter or a choice: `\text{B}` means B. */
const TEXT_WRAPPERS = ['\\text', '\\textbf', '\\textrm', '\\mathrm', '\\mathbf', '\\mathit'];

/** `s` without one wrapper spanning all of it (`$..$`, `\text{..}`, `(..)`), or null if there is none. */
function unwrapOnce(s: string): string | null {
  if (s.length >= 2 && s.startsWith('$') && s.endsWith('$')) return s.replace(/^\$+|\$+$/g, '');
  for (const w of TEXT_WRAPPERS) {
    if (s.startsWith(w + '{') && groupEnd(s, w.length) === s.length - 1) return s.slice(w.length + 1, -1);
  }
  return null;
}

/** Trimmed, inner whitespace collapsed, whole-string wrappers removed, a final period dropped. */
export function normalizeChoiceText(s: string): string {
  let t = s.replace(/\s+/g, ' ').trim();
  for (let inner = unwrapOnce(t); inner !== null; inner = unwrapOnce(t)) t = inner.trim();
  return t.replace(/\.$/, '').trim();
}

/** The letter a normalized answer states on its own: "B", "(B)", "B)", "B:", "[B]"; null otherwise. */
function bareLetter(t: string, letters: string[]): string | null {
  const m = /^[([]?\s*([A-Z])\s*[)\]:.]?$/.exec(t);
  return m && letters.includes(m[1]!) ? m[1]! : null;
}

/** "B. text", "(B) text", "B) text", "B: text": the letter and the rest, or null. */
function letterThenText(t: string, letters: string[]): { letter: string; text: string } | null {
  const m = /^\(?([A-Z])\s*[).:]\s+(.+)$/.exec(t);
  return m && letters.includes(m[1]!) ? { letter: m[1]!, text: m[2]! } : null;
}

/**
 * The letters an answer names: [letter] for a letter form, or every choice whose text it equals (two choices
 * may share a text), or "B. text" when the text is B's; [] when it names none.
 */
export function chosenLetters(answer: string, choices: Choices): string[] {
  const letters = Object.keys(choices);
  const t = normalizeChoiceText(answer);
  const letter = bareLetter(t, letters);
  if (letter !== null) return [letter];
  const byText = letters.filter((l) => normalizeChoiceText(choices[l]!) === t);
  if (byText.length > 0) return byText;
  const prefixed = letterThenText(t, letters);
  if (prefixed && normalizeChoiceText(choices[prefixed.letter]!) === normalizeChoiceText(prefixed.text)) return [prefixed.letter];
  return [];
}

/** A sample's choices, from an object or its JSON text. */
export function sampleChoices(sample: Sample, name = 'choiceReward'): Choices {
  let c: unknown = sample['choices'];
  if (typeof c === 'string') {
    const text = c;
    try {
      c = JSON.parse(text);
    } catch {
      throw new TypeError(`${name}: the sample's "choices" is a string but not JSON: ${JSON.stringify(text.slice(0, 60))}`);
    }
  }
  if (c === null || typeof c !== 'object' || Array.isArray(c)) {
    throw new TypeError(`${name}: the sample needs "choices" {A: text, B: text, ...}, got ${c === undefined ? 'none' : JSON.stringify(c)}`);
  }
  const entries = Object.entries(c as Record<string, unknown>);
  const bad = entries.find(([k, v]) => !/^[A-Z]$/.test(k) || typeof v !== 'string');
  if (entries.length === 0 || bad) throw new TypeError(`${name}: "choices" must map letters A-Z to texts, got ${JSON.stringify(c).slice(0, 120)}`);
  return c as Choices;
}

/** 1 iff the response stopped normally and its last boxed answer inside <answer> names the correct choice. */
export function choiceReward(sample: Sample): number {
  const choices = sampleChoices(sample);
  const truth = typeof sample.groundTruth === 'string' ? sample.groundTruth.trim() : sample.groundTruth;
  if (typeof truth !== 'string' || !(truth in choices)) {
    throw new TypeError(`choiceReward: groundTruth must be one of the letters ${Object.keys(choices).join(', ')}, got ${JSON.stringify(sample.groundTruth)}`);
  }
  if (sample.finishReason !== 'stop') return 0;
  const answer = extractAnswer(sample.response);
  return answer !== null && chosenLetters(answer, choices).includes(truth) ? 1 : 0;
}
