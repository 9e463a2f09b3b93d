// Where sessions live: $ORZ_HOME/sessions/<name>/ (ORZ_HOME defaults to ~/.local/share/orz, the XDG data
// directory, because a session's state is user data that must survive reboots, unlike a runtime socket).
//
//   connection.json   how to reach the daemon: addresses, key, pid (0600, only the owner may read the key)
//   session.json      the settings it was started with (a resume reuses them)
//   handles.json      every handle and the recipe that recreates it
//   checkpoints/<id>/ per trainer: metrics.jsonl|arrow, rollouts/, checkpoints/iter-N/ (the Trainer format)
//   log               the daemon's stdout and stderr

import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

export const DEFAULT_SESSION = 'default';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Session names become directory names: a conservative charset keeps them portable and path-safe. */
export function checkSessionName(name: unknown, what = 'session name'): string {
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new Error(`${what} must be 1-64 characters of letters, digits, ".", "_" or "-" (not starting with "." or "-"), got ${JSON.stringify(name)}`);
  }
  return name;
}

export function orzHome(env: NodeJS.ProcessEnv = process.env): string {
  const home = env['ORZ_HOME'];
  return home ? resolve(home) : join(env['XDG_DATA_HOME'] || join(homedir(), '.local', 'share'), 'orz');
}

export function sessionsRoot(env: NodeJS.ProcessEnv = process.env): string {
  return join(orzHome(env), 'sessions');
}

export function sessionDir(name: string, env: NodeJS.ProcessEnv = process.env): string {
  return join(sessionsRoot(env), checkSessionName(name));
}

export const sessionFiles = (dir: string) => ({
  connection: join(dir, 'connection.json'),
  settings: join(dir, 'session.json'),
  handles: join(dir, 'handles.json'),
  checkpoints: join(dir, 'checkpoints'),
  log: join(dir, 'log'),
});
