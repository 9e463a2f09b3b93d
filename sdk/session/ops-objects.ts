// Operations on models, tokenizers, datasets and rollout engines held by the session.

import type { TransformerLM } from '../model/index.ts';
import type { Tokenizer } from '../tokenizer/index.ts';
import type { ProblemRecord } from '../data/index.ts';
import type { RolloutEngine } from '../rollout/engine.ts';
import { ArgumentError, anyString, arrayOf, bool, int, optional, plainObject, promptInput, MAX_PROMPTS, str, type Check } from './args.ts';
import { HostTensor } from './codec.ts';
import { weightsDigest } from './digest.ts';
import { handleOp, type Operation } from './op.ts';

const GENERATE_KEYS = new Set(['temperature', 'topP', 'topK', 'maxNewTokens', 'n', 'stop', 'seed']);

/** Sampling parameters: known keys only, numbers and a list of stop strings (the engine checks the ranges). */
export const generateParams = (): Check<Record<string, unknown>> => (v, at) => {
  const o = plainObject()(v, at);
  for (const [k, x] of Object.entries(o)) {
    if (!GENERATE_KEYS.has(k)) throw new ArgumentError(`argument "${at}.${k}" is not a generation parameter (${[...GENERATE_KEYS].join(', ')})`);
    if (k === 'stop') arrayOf(anyString(), { max: 64 })(x, `${at}.stop`);
    else if (typeof x !== 'number') throw new ArgumentError(`argument "${at}.${k}" must be a number`);
  }
  return o;
};

export const OBJECT_OPERATIONS: Record<string, Operation> = {
  'model.info': handleOp('model', { queued: false }, {}, (_c, _a, e) => {
    const m = e.object as TransformerLM;
    const weights = [...m.weights].map(([name, v]) => ({ name, shape: v.shape }));
    return { config: m.config, parameters: weights.reduce((a, w) => a + w.shape.reduce((x, y) => x * y, 1), 0), weights };
  }),
  'model.weight': handleOp('model', { queued: false }, { name: str({ maxLength: 512 }) }, (_c, a, e) => {
    const v = (e.object as TransformerLM).weights.get(a.name);
    if (!v) throw new ArgumentError(`model.weight: argument "name": ${e.id} has no weight ${JSON.stringify(a.name)}`);
    return new HostTensor(Float32Array.from(v.dataSync() as Float32Array), [...v.shape], 'float32');
  }),
  'model.digest': handleOp('model', { queued: false }, {}, (_c, _a, e) => weightsDigest((e.object as TransformerLM).weights)),

  'tokenizer.info': handleOp('tokenizer', { queued: false }, {}, (_c, _a, e) => {
    const t = e.object as Tokenizer;
    return { vocabSize: t.vocabSize, padId: t.padId, eosId: t.eosId ?? null };
  }),
  'tokenizer.encode': handleOp('tokenizer', { queued: false }, { text: anyString() }, (_c, a, e) => (e.object as Tokenizer).encode(a.text)),
  'tokenizer.decode': handleOp('tokenizer', { queued: false }, { ids: arrayOf(int({ min: 0 })), skipSpecial: optional(bool()) }, (_c, a, e) =>
    (e.object as Tokenizer).decode(a.ids, a.skipSpecial === undefined ? undefined : { skipSpecial: a.skipSpecial })),

  'dataset.info': handleOp('dataset', { queued: false }, {}, (_c, _a, e) => ({
    length: (e.object as ProblemRecord[]).length, path: e.recipe.kind === 'dataset' ? e.recipe.path : null,
  })),
  'dataset.records': handleOp('dataset', { queued: false }, { offset: optional(int({ min: 0 })), limit: optional(int({ min: 1, max: 100_000 })) }, (_c, a, e) => {
    const from = a.offset ?? 0;
    return (e.object as ProblemRecord[]).slice(from, from + (a.limit ?? 100));
  }),

  'engine.info': handleOp('engine', { queued: false }, {}, (_c, _a, e) => {
    const r = e.recipe.kind === 'engine' ? e.recipe : null;
    return { model: r?.model ?? null, tokenizer: r?.tokenizer ?? null, maxBatchRows: (e.object as RolloutEngine).maxBatchRows };
  }),
  'engine.generate': handleOp('engine', { queued: true }, { prompts: arrayOf(promptInput(), { max: MAX_PROMPTS }), params: optional(generateParams()) }, ({ call }, a, e) =>
    (e.object as RolloutEngine).generate(a.prompts, a.params ?? {}, { signal: call.signal, onProgress: (p) => call.progress('generate', p) })),
};
