// What a reward worker is told to run, made from a RewardFn: a module to import, or a function's source to
// re-evaluate. Source loses the function's enclosing scope, so what cannot be shipped is refused here, clearly,
// instead of failing obscurely in the worker.

import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { choiceReward } from '../choice-reward.ts';
import { mathReward, mathRewardFixed } from '../math-reward.ts';
import type { BatchRewardFn, RewardFn, RewardModule, Sample } from '../types.ts';
import { moduleExports } from './module-exports.ts';
import type { RewardSpec } from './protocol.ts';

/** Registered, so a second copy of this module (the kernel's, a project's node_modules/orz) agrees on the mark. */
const IN_PROCESS = Symbol.for('orz.reward.inProcess');

/** The built-in reward is shipped by path: its source alone would miss the helpers it imports. */
const MATH_REWARD_URL = new URL('../math-reward.ts', import.meta.url).href;
/** The built-in rewards, imported by the workers from their module (their source alone would miss its imports). */
const BUILT_IN_REWARDS = new Map<RewardFn, RewardModule>([
  [mathReward, { module: MATH_REWARD_URL, export: 'mathReward', name: 'mathReward' }],
  [mathRewardFixed, { module: MATH_REWARD_URL, export: 'mathRewardFixed', name: 'mathRewardFixed' }],
  [choiceReward, { module: new URL('../choice-reward.ts', import.meta.url).href, export: 'choiceReward', name: 'choiceReward' }],
]);

/**
 * A reward exported by a module, for the reward workers to import: `rewardModule('./my-reward.ts', 'score')`.
 * A relative path is resolved against the current directory (a notebook's own directory in the kernel).
 */
export function rewardModule(path: string | URL, exportName = 'default'): RewardModule {
  const url = path instanceof URL ? path : path.startsWith('file:') ? new URL(path) : pathToFileURL(resolve(path));
  if (url.protocol !== 'file:') throw new TypeError(`rewardModule: expected a file path or file: URL, got ${url.href}`);
  if (!existsSync(fileURLToPath(url))) throw new Error(`rewardModule: ${fileURLToPath(url)} does not exist`);
  return { module: url.href, export: exportName, name: exportName === 'default' ? fileURLToPath(url) : exportName };
}

/**
 * Marks a reward to run on the main thread, next to the state it uses (a model, a connection, a closure).
 * There a synchronous reward that never returns cannot be timed out: it hangs the process.
 */
export function inProcessReward<T extends RewardFn>(fn: T): T {
  // A marked copy, not the reward itself: marking mathReward would move every later use of it onto this thread.
  let marked: RewardFn;
  if (typeof fn === 'function') {
    const call = fn as (sample: Sample) => number | Promise<number>;
    marked = (sample) => call(sample);
    Object.defineProperty(marked, 'name', { value: fn.name, configurable: true });
  } else if (isRewardModule(fn)) {
    marked = { ...fn };
  } else {
    const batchFn = fn as BatchRewardFn;
    marked = { ...(batchFn.name === undefined ? {} : { name: batchFn.name }), batch: (samples) => batchFn.batch(samples) };
  }
  Object.defineProperty(marked, IN_PROCESS, { value: true, enumerable: false, configurable: true });
  return marked as T;
}

export function runsInProcess(fn: RewardFn): boolean {
  return (fn as { [IN_PROCESS]?: boolean })[IN_PROCESS] === true;
}

export function isRewardModule(fn: RewardFn): fn is RewardModule {
  return typeof fn === 'object' && fn !== null && typeof (fn as RewardModule).module === 'string' && typeof (fn as BatchRewardFn).batch !== 'function';
}

/** The module's export, imported on this thread (for in-process scoring). */
export async function importRewardModule(m: RewardModule): Promise<Exclude<RewardFn, RewardModule>> {
  const mod = moduleExports((await import(m.module)) as Record<string, unknown>);
  const exported = mod[m.export ?? 'default'];
  if (typeof exported === 'function' || typeof (exported as BatchRewardFn | null)?.batch === 'function') return exported as Exclude<RewardFn, RewardModule>;
  throw new TypeError(`export "${m.export ?? 'default'}" of ${m.module} is neither a reward function nor an object with a batch function`);
}

function shippableSource(fn: Function, what: string): string {
  const source = Function.prototype.toString.call(fn);
  if (/\{\s*\[native code\]\s*\}\s*$/.test(source)) {
    throw new TypeError(`${what} is a native or bound function (fn.bind(...)): its source cannot be sent to a reward worker; `
      + 'pass a plain function, rewardModule(path, exportName), or inProcessReward(fn) to run it on the main thread');
  }
  if (/^class\b/.test(source)) throw new TypeError(`${what} is a class, not a reward function`);
  return source;
}

export function rewardSpec(fn: RewardFn): RewardSpec {
  const builtIn = BUILT_IN_REWARDS.get(fn);
  if (builtIn) return rewardSpec(builtIn);
  if (typeof fn === 'function') return { kind: 'source', source: shippableSource(fn, `reward function ${fn.name || '(anonymous)'}`), shape: 'each' };
  if (isRewardModule(fn)) return { kind: 'module', url: fn.module, exportName: fn.export ?? 'default' };
  return { kind: 'source', source: shippableSource(fn.batch, `batch reward ${fn.name ?? '(unnamed)'}`), shape: 'batch' };
}

/** The hint for a ReferenceError in shipped source: the function used something from where it was written. */
export function capturedStateMessage(identifier: string): string {
  return `uses \`${identifier}\` from its enclosing scope (a variable or an import of the file or cell it was written in), `
    + "which does not exist in the reward worker thread the function's source was sent to: move that state inside the "
    + "function (helpers too, or `await import('...')` them there), export the reward from a module and pass "
    + "rewardModule('./file.ts', 'name'), or wrap it in inProcessReward(fn) to run it on the main thread (no hard timeout there)";
}
