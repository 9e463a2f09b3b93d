// A tiny trainable project on disk for session tests: a 1-layer model and BPE tokenizer trained on arithmetic
// questions, the training problems, and a run config (cfg.json) that takes seconds per iteration on the cpu backend.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { saveModel, TransformerLM } from '../../sdk/model/index.ts';
import { saveTokenizer, trainByteLevelBPE } from '../../sdk/tokenizer/index.ts';
import { arithProblems } from '../../sdk/data/arith.ts';

export const TINY_TRAINER = {
  seed: 5, template: 'mini', promptsPerIteration: 5, samplesPerPrompt: 2, generation: { maxNewTokens: 6 }, criticUpdateSteps: 1,
  evalEvery: 0, policyLr: 1e-2, criticLr: 1e-3, warmupSteps: 0, kl: { log: false }, saveRollouts: false,
};

/** What a test may vary; the defaults are the Slurm and worker tests' project. */
export interface TinyRunProject {
  problemSeed?: number; problems?: number; vocabSize?: number; modelSeed?: number; iterations?: number;
  trainer?: Record<string, unknown>;
  /** Tokens added to the BPE vocabulary whole (default <answer> and </answer>). */
  addedTokens?: string[];
  /** How many of the problems go to train.json (default all; the tokenizer is trained on all of them). */
  trainProblems?: number;
}

/** Writes the project into `dir`; returns the run config's path. */
export async function writeTinyRunProject(dir: string, o: TinyRunProject = {}): Promise<string> {
  const problems = arithProblems({ seed: o.problemSeed ?? 2, count: o.problems ?? 16, levels: [1] });
  const tok = trainByteLevelBPE(problems.map((p) => p.question), { vocabSize: o.vocabSize ?? 300, specialTokens: ['<|endoftext|>', '<|pad|>'], addedTokens: o.addedTokens ?? ['<answer>', '</answer>'] });
  const model = TransformerLM.init({
    model_type: 'orz', vocab_size: tok.vocabSize, hidden_size: 16, intermediate_size: 32, num_hidden_layers: 1,
    num_attention_heads: 2, max_position_embeddings: 96, tie_word_embeddings: true, hidden_act: 'silu', eos_token_id: tok.eosId,
  }, o.modelSeed ?? 3);
  await saveModel(model, join(dir, 'base'));
  await saveTokenizer(tok, join(dir, 'base', 'tokenizer.json'));
  model.dispose();
  await writeFile(join(dir, 'train.json'), JSON.stringify(problems.slice(0, o.trainProblems ?? problems.length).map((p) => [
    { from: 'human', value: p.question }, { from: 'assistant', ground_truth: { value: String(p.answer) } },
  ])));
  const cfg = join(dir, 'cfg.json');
  await writeFile(cfg, JSON.stringify({ name: 'tiny', model: 'base', trainData: 'train.json', iterations: o.iterations ?? 3, trainer: o.trainer ?? TINY_TRAINER }));
  return cfg;
}
