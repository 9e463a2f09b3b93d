// The process's reward pools: one per size, started lazily on first use and reused by every scoring call.

import { availableParallelism } from 'node:os';
import { RewardPool } from './reward-pool.ts';

const pools = new Map<number, RewardPool>();

/** Default pool size: ORZ_REWARD_WORKERS if set, else one worker per core. */
export function defaultRewardWorkers(): number {
  const env = process.env['ORZ_REWARD_WORKERS'];
  if (env !== undefined && env !== '') {
    const n = Number(env);
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`ORZ_REWARD_WORKERS must be a non-negative integer, got ${JSON.stringify(env)}`);
    return n;
  }
  return availableParallelism();
}

export function sharedRewardPool(size: number): RewardPool {
  let pool = pools.get(size);
  if (!pool) pools.set(size, (pool = new RewardPool(size)));
  return pool;
}

/** Terminates every shared reward worker (they would not keep the process alive, but a test or host may want them gone now). */
export async function closeRewardPools(): Promise<void> {
  const all = [...pools.values()];
  pools.clear();
  await Promise.all(all.map((p) => p.close()));
}
