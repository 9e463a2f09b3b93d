// Recipes: how each kind of handle is made. The same code creates a handle for a request and recreates it on
// resume, which is what makes a resumed session hold the same objects. Paths in recipes are absolute.

import { isAbsolute } from 'node:path';
import { parseHubId } from '../hub/cache.ts';
import { loadModel, type TransformerLM } from '../model/index.ts';
import { loadTokenizer, type Tokenizer } from '../tokenizer/index.ts';
import { readDataset, type ProblemRecord } from '../data/index.ts';
import { RolloutEngine } from '../rollout/engine.ts';
import { Trainer } from '../ppo/trainer.ts';
import { readRunConfig, trainerFromRunConfig } from '../run/run-config.ts';
import { mathReward, type RewardFn } from '../reward/index.ts';
import type { TrainerConfigInput } from '../ppo/config.ts';
import type { HandleObject, HandleRegistry, Recipe, RewardSpec } from './registry.ts';

export interface Built { object: HandleObject; queueKey: string }

/** Builds the rollout engine a trainer generates with (the session's rollout workers), given its policy and tokenizer. */
export type EngineMaker = (policy: TransformerLM, tokenizer: Tokenizer) => RolloutEngine;

function absolute(path: string, what: string): string {
  if (!isAbsolute(path)) throw new Error(`${what} must be an absolute path on the session's machine, got ${JSON.stringify(path)}`);
  return path;
}

/** A model or tokenizer: an absolute path, or a hub id that loadModel/loadTokenizer fetch into (or read from) the HF cache. */
function pathOrHubId(path: string, what: string): string {
  return parseHubId(path) && !isAbsolute(path) ? path : absolute(path, `${what} (or a hub id owner/name[@revision])`);
}

/** `controller` is the reward that forwards to the client; the session installs it once the handle exists. */
export function rewardFor(spec: RewardSpec, controller: RewardFn): RewardFn {
  return spec === 'math' ? mathReward : controller;
}

/** `engine`, for a trainer recipe: what it generates with instead of its own RolloutEngine. */
export async function buildFromRecipe(recipe: Recipe, id: string, registry: HandleRegistry, controllerReward: RewardFn, engine?: EngineMaker): Promise<Built> {
  switch (recipe.kind) {
    case 'model':
      return { object: await loadModel(pathOrHubId(recipe.path, 'model path')), queueKey: id };
    case 'tokenizer':
      return { object: await loadTokenizer(pathOrHubId(recipe.path, 'tokenizer path')), queueKey: id };
    case 'dataset':
      return { object: await readDataset(absolute(recipe.path, 'dataset path')), queueKey: id };
    case 'engine': {
      const model = registry.get(recipe.model, 'model');
      const tokenizer = registry.get(recipe.tokenizer, 'tokenizer');
      const object = new RolloutEngine(model.object as TransformerLM, tokenizer.object as Tokenizer, recipe.maxBatchRows ? { maxBatchRows: recipe.maxBatchRows } : {});
      return { object, queueKey: model.queueKey }; // generation reads the weights a trainer on the same model updates
    }
    case 'trainer': {
      const reward = rewardFor(recipe.reward, controllerReward);
      if (recipe.from === 'runConfig') {
        const rc = await readRunConfig(absolute(recipe.path, 'run config path'));
        return { object: await trainerFromRunConfig(rc, { reward, engine }), queueKey: id };
      }
      const policy = registry.get(recipe.policy, 'model');
      const tokenizer = registry.get(recipe.tokenizer, 'tokenizer').object as Tokenizer;
      const object = new Trainer({
        policy: policy.object as TransformerLM,
        tokenizer,
        engine: engine?.(policy.object as TransformerLM, tokenizer),
        dataset: registry.get(recipe.dataset, 'dataset').object as ProblemRecord[],
        evalDataset: recipe.evalDataset ? (registry.get(recipe.evalDataset, 'dataset').object as ProblemRecord[]) : undefined,
        reward,
        config: recipe.config as TrainerConfigInput,
      });
      return { object, queueKey: policy.queueKey };
    }
  }
}
