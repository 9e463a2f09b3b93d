// One rollout worker's process, seen from the session: spawned (directly, or through a launcher such as srun,
// which forwards stdin and output) with the bootstrap line on its stdin (which stays open: closing it, or the
// session dying, ends the worker), its output forwarded line by line to the session's log, and its exit recorded.

import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { WorkerBootstrap } from './protocol.ts';

const WORKER_MAIN = fileURLToPath(new URL('./worker-main.ts', import.meta.url));
// tsx's loader as a file URL: resolved from this package, so workers start whatever the session's working directory.
const TSX = import.meta.resolve('tsx');

/** A program that starts the worker program elsewhere (srun and its flags); the worker's command is appended. */
export interface Launcher { command: string; args: string[] }

export class WorkerProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** How the process ended ("code 1", "SIGKILL"); null while it runs. */
  exit: string | null = null;
  readonly exited: Promise<string>;

  constructor(boot: WorkerBootstrap, log: (line: string) => void, env: NodeJS.ProcessEnv = process.env, launcher?: Launcher) {
    const worker = [process.execPath, '--import', TSX, WORKER_MAIN];
    const [command, ...args] = launcher ? [launcher.command, ...launcher.args, ...worker] : worker;
    this.child = spawn(command!, args, { stdio: ['pipe', 'pipe', 'pipe'], env });
    if (this.child.pid === undefined) throw new Error(`cannot start rollout worker ${boot.worker} (${command} ${args.join(' ')})`);
    this.pid = this.child.pid;
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        this.exit = signal ?? `code ${code}`;
        resolve(this.exit);
      });
    });
    // A failed spawn or a broken pipe is reported by 'exit' too; without these listeners it would throw.
    this.child.on('error', (e) => log(`rollout worker ${boot.worker}: ${e.message}`));
    this.child.stdin!.on('error', () => {});
    for (const stream of [this.child.stdout!, this.child.stderr!]) {
      createInterface({ input: stream }).on('line', (line) => log(`rollout worker ${boot.worker} (pid ${this.pid}): ${line}`));
    }
    this.child.stdin!.write(`${JSON.stringify(boot)}\n`);
  }

  get running(): boolean {
    return this.exit === null;
  }

  /**
   * Asks the worker to leave (end of stdin); after `graceMs` terminates it (srun passes SIGTERM on to its step and
   * ends it), and kills it 3 s later if it is still there.
   */
  async stop(graceMs = 2000): Promise<void> {
    if (!this.running) return;
    this.child.stdin!.end();
    const term = setTimeout(() => this.child.kill('SIGTERM'), graceMs);
    const kill = setTimeout(() => this.child.kill('SIGKILL'), graceMs + 3000);
    await this.exited;
    clearTimeout(term);
    clearTimeout(kill);
  }
}
