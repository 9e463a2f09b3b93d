// `orz pull <owner/name[@revision]>`: downloads a model's config, weights and tokenizer files into the
// Hugging Face cache ahead of a run, asking the hub for the revision's current commit; prints the snapshot directory.

import { defineCommand, parseFlags, UsageError } from '../util/flags.ts';

export const PULL_COMMAND = defineCommand({
  name: 'orz pull',
  synopsis: '<owner/name[@revision]> [options]',
  summary:
    'Download a model from the Hugging Face hub into the HF cache ($HF_HUB_CACHE, $HF_HOME/hub or ~/.cache/huggingface/hub);\n' +
    'prints the snapshot directory. HF_TOKEN: access token; HF_ENDPOINT: hub or mirror URL.',
  flags: {
    revision: { type: 'string', arg: 'R', help: 'branch, tag or commit (default: the id\'s @revision, else main)' },
  },
  positionals: { min: 1, max: 1, name: 'model id' },
});

export async function pullCommand(argv: string[]): Promise<number> {
  const parsed = parseFlags(PULL_COMMAND, argv);
  if (!parsed) return 0;
  const { ensureSnapshot, parseHubId } = await import('../hub/index.ts');
  const text = parsed.positionals[0]!;
  const id = parseHubId(text);
  if (!id) throw new UsageError(`orz pull: ${JSON.stringify(text)} is not a hub id (owner/name or owner/name@revision)`);
  if (parsed.values.revision) {
    if (text.includes('@') && id.revision !== parsed.values.revision) throw new UsageError(`orz pull: ${text} and --revision ${parsed.values.revision} name different revisions`);
    id.revision = parsed.values.revision;
  }
  const snapshot = await ensureSnapshot(id, 'all', { refresh: true });
  process.stderr.write(`${id.repo}@${id.revision}: commit ${snapshot.commit}, ${snapshot.downloaded.length === 0 ? 'everything was in the cache' : `downloaded ${snapshot.downloaded.join(', ')}`}\n`);
  process.stdout.write(`${snapshot.dir}\n`);
  return 0;
}
