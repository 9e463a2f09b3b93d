// Prompt templates: the text a base model continues. Both end with "Assistant: <think>", so the
// model's first generated tokens are its reasoning, as in Open-Reasoner-Zero.

export interface PromptTemplate {
  name: string;
  /** Contains "{question}", replaced by the problem text. */
  text: string;
}

const PLACEHOLDER = '{question}';

/** Our wording of ORZ's template: reasoning in <think>, final answer in <answer> with \boxed{}. */
export const ORZ_TEMPLATE: PromptTemplate = {
  name: 'orz',
  text:
    'Below is a conversation between a User and an Assistant. The User gives a problem and the Assistant solves it. ' +
    'The Assistant first works through the problem step by step inside <think> </think>, and then states the final ' +
    'answer inside <answer> </answer>, writing the final result in \\boxed{}, for example: ' +
    '<think> step-by-step reasoning </think> <answer> The answer is \\boxed{42}. </answer>\n' +
    'User: {question}\n' +
    'Assistant: <think>',
};

/** A short template for the tiny bundled model. */
export const MINI_TEMPLATE: PromptTemplate = {
  name: 'mini',
  text: 'User: {question}\nAssistant: <think>',
};

const BUILT_IN = new Map<string, PromptTemplate>([['orz', ORZ_TEMPLATE], ['mini', MINI_TEMPLATE]]);

export function applyTemplate(t: PromptTemplate, question: string): string {
  if (!t.text.includes(PLACEHOLDER)) throw new Error(`prompt template "${t.name}" has no ${PLACEHOLDER} placeholder`);
  // split/join, not String.replace: questions contain "$" (LaTeX), which replace() would interpret
  return t.text.split(PLACEHOLDER).join(question);
}

/**
 * The template a model gets when none is named: `mini` for our own "orz" models (the bundled base was
 * pretrained on it, and its 128-token context has no room for ORZ's long instructions), ORZ's
 * template for Hugging Face models (llama, qwen2).
 */
export function defaultTemplateFor(modelType: string): PromptTemplate {
  return modelType === 'orz' ? MINI_TEMPLATE : ORZ_TEMPLATE;
}

/** "orz" or "mini" (any case), or a literal template text containing {question}. */
export function resolveTemplate(nameOrText: string): PromptTemplate {
  const builtIn = BUILT_IN.get(nameOrText.trim().toLowerCase());
  if (builtIn) return builtIn;
  if (nameOrText.includes(PLACEHOLDER)) return { name: 'custom', text: nameOrText };
  throw new Error(`unknown prompt template ${JSON.stringify(nameOrText)}: use "orz", "mini" or a text containing ${PLACEHOLDER}`);
}
