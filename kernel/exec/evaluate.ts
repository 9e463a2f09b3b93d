// Running compiled cell JavaScript in V8's REPL mode through the inspector (node:inspector on this thread):
// top-level let/const/class persist across cells and may be redeclared, top-level await works, and the
// completion value of the last statement is the result, exactly what a notebook needs.
//
// The synchronous part of an evaluation happens inside session.post(), which we call from a vm script run
// with breakOnSigint: a SIGINT (Ctrl-C in a terminal, `kill -INT`) then stops even a tight loop that never
// yields, and every variable survives. Interrupts from the client arrive through InterruptState instead.

import { Session } from 'node:inspector';
import vm from 'node:vm';

export type Outcome =
  | { kind: 'value'; value: unknown }
  | { kind: 'error'; error: unknown }
  | { kind: 'interrupted' };

const POST_KEY = Symbol.for('orz.kernel.post');
const STASH_KEY = Symbol.for('orz.kernel.last');
const OBJECT_GROUP = 'orz-cell';
const STASH_FUNCTION = 'function (v) { globalThis[Symbol.for("orz.kernel.last")] = v; }';

interface RemoteObject { type: string; subtype?: string; value?: unknown; unserializableValue?: string; objectId?: string; description?: string }
interface EvaluateResult { result: RemoteObject; exceptionDetails?: { exception?: RemoteObject; text: string } }

function fromUnserializable(text: string): unknown {
  if (text.endsWith('n')) return BigInt(text.slice(0, -1));
  if (text === '-0') return -0;
  return Number(text); // NaN, Infinity, -Infinity
}

export class ReplEvaluator {
  readonly #session = new Session();
  readonly #runPost = new vm.Script('globalThis[Symbol.for("orz.kernel.post")]()', { filename: 'orz-kernel-evaluate' });

  constructor() {
    this.#session.connect();
  }

  /** Before the process exits: a connected session makes node print "Waiting for the debugger to disconnect...". */
  disconnect(): void {
    this.#session.disconnect();
  }

  #post<T>(method: string, params: Record<string, unknown>): Promise<T> {
    return new Promise((resolve, reject) => {
      this.#session.post(method, params, (err, result) => (err ? reject(err) : resolve(result as T)));
    });
  }

  /** The real JS value a RemoteObject stands for (objects are fetched through a stash on globalThis). */
  async #materialize(remote: RemoteObject | undefined): Promise<unknown> {
    if (!remote || remote.type === 'undefined') return undefined;
    if (remote.unserializableValue !== undefined) return fromUnserializable(remote.unserializableValue);
    if (!remote.objectId) return remote.value;
    const slot = globalThis as Record<symbol, unknown>;
    await this.#post('Runtime.callFunctionOn', {
      objectId: remote.objectId, functionDeclaration: STASH_FUNCTION, arguments: [{ objectId: remote.objectId }], silent: true,
    });
    const value = slot[STASH_KEY];
    delete slot[STASH_KEY];
    return value;
  }

  /**
   * Evaluates `js`; resolves when it settles or when `interrupted` resolves (then a pending promise of the
   * cell is abandoned: its state stays, the kernel moves on). `enter` runs the synchronous start of the
   * evaluation (everything the code starts inherits the async context it sets up).
   */
  async evaluate(js: string, interrupted: Promise<void>, enter: (start: () => void) => void = (start) => start()): Promise<Outcome> {
    const slot = globalThis as Record<symbol, unknown>;
    let settled!: Promise<EvaluateResult | Error>;
    let stoppedBySigint = false;
    slot[POST_KEY] = () => {
      settled = new Promise((resolve) => {
        this.#session.post('Runtime.evaluate', {
          expression: js, replMode: true, awaitPromise: true, objectGroup: OBJECT_GROUP, silent: false,
        }, (err, result) => resolve(err ?? (result as EvaluateResult)));
      });
    };
    try {
      enter(() => this.#runPost.runInThisContext({ breakOnSigint: true }));
    } catch (e) {
      if ((e as { code?: string }).code !== 'ERR_SCRIPT_EXECUTION_INTERRUPTED') throw e;
      stoppedBySigint = true;
    } finally {
      delete slot[POST_KEY];
    }
    if (stoppedBySigint) return { kind: 'interrupted' };
    const first = await Promise.race([settled, interrupted.then(() => 'interrupted' as const)]);
    try {
      if (first === 'interrupted') return { kind: 'interrupted' };
      // An inspector error here means Runtime.terminateExecution stopped the cell (the worker's last resort).
      if (first instanceof Error) return { kind: 'interrupted' };
      if (first.exceptionDetails) {
        return { kind: 'error', error: await this.#materialize(first.exceptionDetails.exception) };
      }
      return { kind: 'value', value: await this.#materialize(first.result) };
    } finally {
      this.#session.post('Runtime.releaseObjectGroup', { objectGroup: OBJECT_GROUP });
    }
  }
}
