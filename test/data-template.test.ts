import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyTemplate, defaultTemplateFor, MINI_TEMPLATE, ORZ_TEMPLATE, resolveTemplate } from '../sdk/data/index.ts';

// LaTeX questions contain "$"; "$&" and "$'" are special in String.prototype.replace
const QUESTION = "Find $x$ if $$x^2 = 4$$ and $& $' $1 hold.";

test('ORZ template: preamble about <think>/<answer>/\\boxed{}, then the question, ending with "Assistant: <think>"', () => {
  const prompt = applyTemplate(ORZ_TEMPLATE, QUESTION);
  assert.ok(prompt.endsWith('Assistant: <think>'));
  assert.ok(prompt.includes(`User: ${QUESTION}\nAssistant: <think>`));
  const preamble = prompt.slice(0, prompt.indexOf('User: '));
  for (const part of ['User', 'Assistant', '<think>', '</think>', '<answer>', '</answer>', '\\boxed{']) {
    assert.ok(preamble.includes(part), `preamble mentions ${part}`);
  }
  assert.ok(!prompt.includes('{question}'));
});

test('mini template is exactly "User: {question}\\nAssistant: <think>"', () => {
  assert.equal(applyTemplate(MINI_TEMPLATE, QUESTION), `User: ${QUESTION}\nAssistant: <think>`);
});

test('resolveTemplate: built-in names, literal texts, errors', () => {
  assert.equal(resolveTemplate('orz'), ORZ_TEMPLATE);
  assert.equal(resolveTemplate('MINI'), MINI_TEMPLATE);
  const custom = resolveTemplate('Q: {question}\nA:');
  assert.equal(applyTemplate(custom, '1+1'), 'Q: 1+1\nA:');
  assert.throws(() => resolveTemplate('chatml'), /unknown prompt template "chatml"/);
  assert.throws(() => resolveTemplate('constructor'), /unknown prompt template/);
  assert.throws(() => applyTemplate({ name: 'broken', text: 'no placeholder' }, 'q'), /"broken" has no \{question\}/);
});

test('default template from the model type: mini for our "orz" models, ORZ\'s for Hugging Face ones', async () => {
  assert.equal(defaultTemplateFor('orz'), MINI_TEMPLATE);
  assert.equal(defaultTemplateFor('llama'), ORZ_TEMPLATE);
  assert.equal(defaultTemplateFor('qwen2'), ORZ_TEMPLATE);
  // the bundled model is an "orz" model
  const { readFile } = await import('node:fs/promises');
  const config = JSON.parse(await readFile(new URL('../data/mini/base/config.json', import.meta.url), 'utf8'));
  assert.equal(defaultTemplateFor(config.model_type), MINI_TEMPLATE);
});
