// The session's objects by handle. Each handle has a stable id ("trainer-3"), an optional user name ("mini") and
// the recipe that created it. handles.json holds the records (not the objects), so a resumed session rebuilds
// every object from its recipe, in creation order (a trainer's recipe refers to earlier model handles).

import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../util/atomic-write.ts';
import type { TransformerLM } from '../model/index.ts';
import type { Tokenizer } from '../tokenizer/index.ts';
import type { ProblemRecord } from '../data/index.ts';
import type { RolloutEngine } from '../rollout/engine.ts';
import type { Experience, Trainer } from '../ppo/trainer.ts';
import type { CallContext } from './call-context.ts';
import { checkSessionName } from './paths.ts';

export type HandleKind = 'model' | 'tokenizer' | 'dataset' | 'engine' | 'trainer';
export const HANDLE_KINDS: readonly HandleKind[] = ['model', 'tokenizer', 'dataset', 'engine', 'trainer'];

/** Built-in rewards run inside the session; "controller" asks the client driving the call to score. */
export type RewardSpec = 'math' | 'controller';

export type Recipe =
  | { kind: 'model'; path: string }
  | { kind: 'tokenizer'; path: string }
  | { kind: 'dataset'; path: string }
  | { kind: 'engine'; model: string; tokenizer: string; maxBatchRows?: number }
  | { kind: 'trainer'; from: 'runConfig'; path: string; reward: RewardSpec }
  | { kind: 'trainer'; from: 'handles'; policy: string; tokenizer: string; dataset: string; evalDataset?: string; reward: RewardSpec; config: Record<string, unknown> };

export interface HandleRecord { id: string; kind: HandleKind; name: string | null; recipe: Recipe; created: string }

/** What the session keeps beside a trainer object. */
export interface TrainerState {
  /** Run directory of this trainer inside the session: metrics, rollouts, checkpoints. */
  dir: string;
  reward: RewardSpec;
  /** Iteration of the newest checkpoint on disk (-1: none). */
  lastCheckpoint: number;
  /** Weights changed by a manual update() since the last checkpoint. */
  dirty: boolean;
  /** The queued call now running on this trainer: controller rewards are asked of its client. */
  current: CallContext | null;
  /** Experiences from makeExperience(), kept until update() consumes them. */
  experiences: Map<string, Experience>;
}

export type HandleObject = TransformerLM | Tokenizer | ProblemRecord[] | RolloutEngine | Trainer;

export interface Entry extends HandleRecord {
  object: HandleObject;
  /** Calls that change or compute with shared weights run one at a time per key (the root model). */
  queueKey: string;
  trainer?: TrainerState;
}

/** One line per handle for status, list and get. */
export interface HandleInfo {
  id: string;
  kind: HandleKind;
  name: string | null;
  recipe: Recipe;
  created: string;
  iteration?: number;
  dataCursor?: number;
  lastCheckpoint?: number;
  busy?: boolean;
}

interface HandlesFile { format: 'orz-session-handles/1'; next: number; handles: HandleRecord[] }

export class HandleRegistry {
  readonly #entries = new Map<string, Entry>();
  #next = 1;

  constructor(readonly file: string) {}

  newId(kind: HandleKind): string {
    return `${kind}-${this.#next++}`;
  }

  checkFreeName(name: string | null | undefined): string | null {
    if (name === undefined || name === null) return null;
    checkSessionName(name, 'handle name');
    const taken = this.find(name);
    if (taken) throw new Error(`the name "${name}" is taken by ${taken.id}; use session.get("${name}") or release it first`);
    return name;
  }

  add(entry: Entry): void {
    this.#entries.set(entry.id, entry);
  }

  remove(id: string): Entry | undefined {
    const e = this.#entries.get(id);
    this.#entries.delete(id);
    return e;
  }

  /** By id, else by name. */
  find(ref: string): Entry | undefined {
    const byId = this.#entries.get(ref);
    if (byId) return byId;
    for (const e of this.#entries.values()) if (e.name === ref) return e;
    return undefined;
  }

  get(ref: string, kind?: HandleKind): Entry {
    const e = this.find(ref);
    if (!e) throw Object.assign(new Error(`no handle "${ref}" in this session`), { code: 'no_handle' });
    if (kind && e.kind !== kind) throw Object.assign(new Error(`handle "${ref}" is a ${e.kind}, not a ${kind}`), { code: 'wrong_kind' });
    return e;
  }

  entries(): Entry[] {
    return [...this.#entries.values()];
  }

  /** Handles that depend on `id` (an engine or trainer built on a model): they keep it alive. */
  dependents(id: string): Entry[] {
    return this.entries().filter((e) => e.id !== id && JSON.stringify(e.recipe).includes(JSON.stringify(id)));
  }

  async save(): Promise<void> {
    const data: HandlesFile = {
      format: 'orz-session-handles/1',
      next: this.#next,
      handles: this.entries().map(({ id, kind, name, recipe, created }) => ({ id, kind, name, recipe, created })),
    };
    await writeFileAtomic(this.file, JSON.stringify(data, null, 2) + '\n');
  }

  /** The records of a previous run of the session (empty when there is no file). */
  async loadRecords(): Promise<HandleRecord[]> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw new Error(`${this.file}: ${(e as Error).message}`);
    }
    let data: HandlesFile;
    try {
      data = JSON.parse(text) as HandlesFile;
    } catch (e) {
      throw new Error(`${this.file}: not JSON: ${(e as Error).message}`);
    }
    if (data?.format !== 'orz-session-handles/1' || !Array.isArray(data.handles)) throw new Error(`${this.file}: not an orz session handles file`);
    data.handles.forEach((h, i) => {
      if (typeof h?.id !== 'string' || !HANDLE_KINDS.includes(h.kind) || typeof h.recipe !== 'object' || h.recipe?.kind !== h.kind) {
        throw new Error(`${this.file}: handle ${i} is malformed`);
      }
    });
    this.#next = Math.max(this.#next, Number.isInteger(data.next) ? data.next : 1);
    return data.handles;
  }
}
