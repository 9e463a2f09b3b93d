// A stand-in for EleutherAI/pythia-14m in a Hugging Face cache (no hub is reachable in tests): a tiny
// random gpt_neox checkpoint with pythia's config.json fields, and a trained byte-level BPE
// tokenizer.json shaped like pythia's (NFC normalizer, GPT-2 ByteLevel pre-tokenizer with its regex,
// ByteLevel decoder, <|endoftext|> = 0 and <|padding|> = 1), laid out as huggingface_hub leaves
// it: blobs, relative snapshot symlinks, refs/main.

import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TransformerLM, saveModel, type ModelConfig } from '../../sdk/model/index.ts';
import { tokenizerFromJSON, trainByteLevelBPE, type Tokenizer } from '../../sdk/tokenizer/index.ts';

/** A pythia-shaped tokenizer trained on `corpus`. */
export function pythiaShapedTokenizer(corpus: string[], vocabSize = 400): Tokenizer {
  const trained = trainByteLevelBPE(corpus, {
    vocabSize, specialTokens: ['<|endoftext|>', '<|padding|>'], addedTokens: ['<think>', '</think>', '<answer>', '</answer>'],
  });
  const json = trained.toJSON() as Record<string, unknown>;
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  return tokenizerFromJSON({
    ...json,
    normalizer: { type: 'NFC' },
    pre_tokenizer: byteLevel,
    post_processor: { ...byteLevel, use_regex: true },
    decoder: byteLevel,
  });
}

/** pythia-14m's config.json at a tiny size (hidden 32, 2 layers). */
export function pythiaConfig(vocabSize: number): ModelConfig {
  return {
    architectures: ['GPTNeoXForCausalLM'], bos_token_id: 0, eos_token_id: 0, hidden_act: 'gelu', hidden_size: 32,
    intermediate_size: 128, layer_norm_eps: 1e-5, max_position_embeddings: 2048, model_type: 'gpt_neox',
    num_attention_heads: 4, num_hidden_layers: 2, rotary_emb_base: 10000, rotary_pct: 0.25, tie_word_embeddings: false,
    torch_dtype: 'float32', use_parallel_residual: true, vocab_size: vocabSize,
    // fields transformers writes that orz ignores
    ...({ attention_dropout: 0, classifier_dropout: 0.1, hidden_dropout: 0, initializer_range: 0.02, use_cache: true, transformers_version: '4.29.2' } as object),
  } as ModelConfig;
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/**
 * Writes the stand-in under `id` into the cache directory `cache` (HF_HUB_CACHE) and returns the
 * snapshot directory. The model's vocabulary is the tokenizer's size rounded up to 8, as pythia pads it.
 */
export async function writePythiaToCache(cache: string, id: string, tokenizer: Tokenizer, seed = 1): Promise<string> {
  const staging = await mkdtemp(join(tmpdir(), 'orz-pythia-'));
  try {
    const model = TransformerLM.init(pythiaConfig(Math.ceil(tokenizer.vocabSize / 8) * 8), seed);
    await saveModel(model, staging);
    model.dispose();
    await writeFile(join(staging, 'tokenizer.json'), JSON.stringify(tokenizer.toJSON()));
    const repoDir = join(cache, `models--${id.replace('/', '--')}`);
    const commit = sha256(Buffer.from(id)).slice(0, 40);
    const snapshot = join(repoDir, 'snapshots', commit);
    await mkdir(join(repoDir, 'blobs'), { recursive: true });
    await mkdir(snapshot, { recursive: true });
    await mkdir(join(repoDir, 'refs'), { recursive: true });
    await writeFile(join(repoDir, 'refs', 'main'), commit);
    for (const f of await readdir(staging)) {
      const bytes = await readFile(join(staging, f));
      const blob = sha256(bytes);
      await writeFile(join(repoDir, 'blobs', blob), bytes);
      await symlink(`../../blobs/${blob}`, join(snapshot, f));
    }
    return snapshot;
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
