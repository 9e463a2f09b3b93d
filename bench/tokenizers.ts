// orz's tokenizer against @huggingface/tokenizers on the same texts in one run: the Qwen2.5, Llama-3 and
// Llama-2 tokenizer.json files that the @lenml/tokenizer-* packages ship, over the hand texts and every
// MATH500 problem and answer (test/support/tokenizer-texts.ts). Per family and repeat, for each side in
// alternating order: construction from the parsed JSON, the first encode pass over all texts on that fresh
// tokenizer (cold: the piece caches are empty), a second pass (warm) and decode; medians are reported.
// Ids must agree; the run fails otherwise.
//
//   npm run bench -- tokenizers [--repeats 5]
// Writes bench/results/tokenizers-<date>.json.

import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { tokenizerFromJSON } from '../sdk/tokenizer/index.ts';
import { TOKENIZER_FILES, tokenizerTexts } from '../test/support/tokenizer-texts.ts';

const { values: args } = parseArgs({ options: { repeats: { type: 'string', default: '5' } } });
const repeats = Number(args.repeats);
if (!(Number.isInteger(repeats) && repeats >= 1)) throw new Error(`--repeats must be a positive integer, got ${args.repeats}`);

interface Side { build: () => void; encodeAll: () => number[][]; decodeAll: (ids: number[][]) => void }

const texts = tokenizerTexts();
const chars = texts.reduce((n, t) => n + t.length, 0);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ms = (f: () => void) => {
  const t0 = performance.now();
  f();
  return performance.now() - t0;
};

function sides(json: object): Record<'orz' | 'hf', Side> {
  let orz = tokenizerFromJSON(json);
  let hf = new HfTokenizer(json, {});
  return {
    orz: {
      build: () => { orz = tokenizerFromJSON(json); },
      encodeAll: () => texts.map((t) => orz.encode(t)),
      decodeAll: (ids) => { for (const x of ids) orz.decode(x); },
    },
    hf: {
      build: () => { hf = new HfTokenizer(json, {}); },
      encodeAll: () => texts.map((t) => hf.encode(t, { add_special_tokens: false }).ids),
      decodeAll: (ids) => { for (const x of ids) if (x.length > 0) hf.decode(x, { clean_up_tokenization_spaces: false }); },
    },
  };
}

const SIDES = ['orz', 'hf'] as const;
type SideName = (typeof SIDES)[number];
const results: Record<string, unknown> = {};
for (const [family, path] of Object.entries(TOKENIZER_FILES)) {
  const json = JSON.parse(readFileSync(path, 'utf8')) as object;
  const s = sides(json);
  const times: Record<SideName, Record<'buildMs' | 'coldEncodeMs' | 'warmEncodeMs' | 'decodeMs', number[]>> = {
    orz: { buildMs: [], coldEncodeMs: [], warmEncodeMs: [], decodeMs: [] },
    hf: { buildMs: [], coldEncodeMs: [], warmEncodeMs: [], decodeMs: [] },
  };
  let ids: number[][] | undefined;
  // each repeat: a fresh tokenizer per side (build, then a cold pass), a warm pass and decode; sides alternate first place
  for (let r = 0; r < repeats; r++) {
    for (const name of r % 2 === 0 ? SIDES : ([...SIDES].reverse() as SideName[])) {
      const t = times[name];
      t.buildMs.push(ms(s[name].build));
      let out: number[][] = [];
      t.coldEncodeMs.push(ms(() => { out = s[name].encodeAll(); }));
      ids ??= out;
      if (JSON.stringify(out) !== JSON.stringify(ids)) throw new Error(`${family}: orz and @huggingface/tokenizers give different ids`);
      t.warmEncodeMs.push(ms(() => s[name].encodeAll()));
      t.decodeMs.push(ms(() => s[name].decodeAll(ids!)));
    }
  }
  const tokens = ids!.reduce((n, x) => n + x.length, 0);
  const summary = (name: SideName): Record<string, number> => {
    const m: Record<string, number> = {};
    for (const [k, v] of Object.entries(times[name])) m[k] = Number(median(v).toFixed(1));
    return { ...m, warmTokensPerSec: Math.round(tokens / (m.warmEncodeMs! / 1000)) };
  };
  const row: Record<SideName, Record<string, number>> = { orz: summary('orz'), hf: summary('hf') };
  const ratio = (k: string) => Number((row.hf[k]! / row.orz[k]!).toFixed(2));
  results[family] = { tokens, ...row, hfOverOrz: { build: ratio('buildMs'), coldEncode: ratio('coldEncodeMs'), warmEncode: ratio('warmEncodeMs'), decode: ratio('decodeMs') } };
  const pair = (k: string) => `${row.orz[k]!.toFixed(0)} / ${row.hf[k]!.toFixed(0)} ms`;
  process.stdout.write(`${family.padEnd(8)} ${tokens} tokens (orz / hf, medians of ${repeats})  build ${pair('buildMs')}  encode cold ${pair('coldEncodeMs')}  warm ${pair('warmEncodeMs')}  decode ${pair('decodeMs')}\n`);
}

const date = new Date().toISOString().slice(0, 10);
const out = join(import.meta.dirname, 'results', `tokenizers-${date}.json`);
await mkdir(join(import.meta.dirname, 'results'), { recursive: true });
await writeFile(
  out,
  JSON.stringify({ bench: 'tokenizers', date, node: process.version, cpu: cpus()[0]?.model, loadavg: loadavg(), texts: texts.length, chars, repeats, results }, null, 2) + '\n',
);
process.stdout.write(`wrote ${out}\n`);
