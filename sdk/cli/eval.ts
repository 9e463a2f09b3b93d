// `orz eval --model DIR --data FILE`: greedy accuracy of a model on a dataset with the math reward.

import { parseFlags, UsageError, defineCommand } from './flags.ts';

export const EVAL_COMMAND = defineCommand({
  name: 'orz eval',
  synopsis: '--model DIR --data FILE [options]',
  summary: 'Accuracy of a model on a dataset (ORZ or orz format) with the math reward; prints one JSON line.',
  flags: {
    model: { type: 'string', arg: 'DIR', help: 'model directory (config.json, model.safetensors, tokenizer.json)' },
    data: { type: 'string', arg: 'FILE', help: 'dataset: .json (ORZ format) or .jsonl' },
    template: { type: 'string', arg: 'T', default: 'orz', help: 'prompt template: orz, mini or a text containing {question}' },
    limit: { type: 'int', min: 1, help: 'evaluate the first N records (default all)' },
    'max-new-tokens': { type: 'int', min: 1, default: 512, help: 'response token budget' },
    backend: { type: 'string', arg: 'B', help: 'tensor backend: auto, tensorflow, onnxruntime, wasm, cpu (default auto)' },
  },
});

export async function evalCommand(argv: string[]): Promise<number> {
  const parsed = parseFlags(EVAL_COMMAND, argv);
  if (!parsed) return 0;
  const { values } = parsed;
  if (!values.model || !values.data) throw new UsageError('orz eval: --model and --data are required');
  const { selectBackend } = await import('../engine/backend.ts');
  const { loadModel } = await import('../model/index.ts');
  const { loadTokenizer } = await import('../tokenizer/index.ts');
  const { readDataset, resolveTemplate, applyTemplate } = await import('../data/index.ts');
  const { RolloutEngine } = await import('../rollout/engine.ts');
  const { mathReward, scoreSamples } = await import('../reward/index.ts');
  const backend = await selectBackend(values.backend);
  const [model, tokenizer, records] = await Promise.all([loadModel(values.model), loadTokenizer(values.model), readDataset(values.data)]);
  const template = resolveTemplate(values.template);
  const chosen = records.slice(0, values.limit ?? records.length);
  const engine = new RolloutEngine(model, tokenizer);
  const t0 = performance.now();
  const batch = await engine.generate(
    chosen.map((r) => ({ prompt: applyTemplate(template, r.prompt), groundTruth: r.groundTruth })),
    { temperature: 0, n: 1, maxNewTokens: values['max-new-tokens'] },
    { onProgress: (p) => process.stderr.write(`\r${p.finished}/${p.total} samples`) },
  );
  const rewards = await scoreSamples(mathReward, batch.samples().map((s) => ({ ...s, groundTruth: s.groundTruth })));
  const acc = rewards.reduce((a, b) => a + b, 0) / rewards.length;
  process.stderr.write('\n');
  console.log(JSON.stringify({ model: values.model, data: values.data, backend: backend.name, samples: rewards.length, accuracy: acc, seconds: (performance.now() - t0) / 1000 }));
  return 0;
}
